// A SCIM service provider built the way SCIMMY's documentation shows: Express, scimmy-routers,
// and ingress/egress/degress handlers over an in-memory store. The tests start it on loopback
// behind a TLS-terminating proxy, as it would run behind nginx in production.
//
// Environment:
//   SCIMMY_PORT   port on 127.0.0.1 (0, the default, picks a free one)
//   SCIMMY_TOKEN  the bearer token that is accepted (required)
// On start it prints one line: `listening http://127.0.0.1:PORT/scim/v2`.
import {randomUUID} from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const token = process.env.SCIMMY_TOKEN;
if (!token) {
    console.error("SCIMMY_TOKEN is required");
    process.exit(2);
}

const notFound = (id) => new SCIMMY.Types.Error(404, null, `Resource ${id} not found`);

// One store per resource type, with the handler shapes of SCIMMY's Resource documentation.
function declare(Resource, unique) {
    const store = new Map();
    Resource
        .ingress((resource, instance) => {
            const clash = unique && [...store.values()].find((r) => r.id !== resource.id
                && String(r[unique]).toLowerCase() === String(instance[unique]).toLowerCase());
            if (clash) throw new SCIMMY.Types.Error(409, "uniqueness", `${unique} is not unique`);
            const now = new Date();
            if (resource.id) {
                const current = store.get(resource.id);
                if (!current) throw notFound(resource.id);
                const updated = {...instance, id: resource.id,
                    meta: {created: current.meta.created, lastModified: now}};
                store.set(resource.id, updated);
                return updated;
            }
            const created = {...instance, id: randomUUID(), meta: {created: now, lastModified: now}};
            store.set(created.id, created);
            return created;
        })
        .egress((resource) => {
            if (resource.id) {
                const found = store.get(resource.id);
                if (!found) throw notFound(resource.id);
                return found;
            }
            const all = [...store.values()];
            return resource.filter ? resource.filter.match(all) : all;
        })
        .degress((resource) => {
            if (!store.delete(resource.id)) throw notFound(resource.id);
        });
    SCIMMY.Resources.declare(Resource);
}

declare(SCIMMY.Resources.User, "userName");
declare(SCIMMY.Resources.Group, "displayName");

const app = express();
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (request) => {
        if (request.header("Authorization") !== `Bearer ${token}`) {
            throw new Error("Authorization failed");
        }
        return "scim-doctor-tests";
    },
    // The public URL, as the TLS-terminating proxy in front reports it.
    baseUri: (request) => {
        const proto = request.header("X-Forwarded-Proto");
        const host = request.header("X-Forwarded-Host");
        return proto === "https" && host ? `https://${host}` : undefined;
    },
}));

const server = app.listen(Number(process.env.SCIMMY_PORT ?? 0), "127.0.0.1", () => {
    console.log(`listening http://127.0.0.1:${server.address().port}/scim/v2`);
});
const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
