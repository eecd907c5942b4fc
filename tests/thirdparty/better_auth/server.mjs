// Better Auth with its SCIM plugin, set up as the plugin's documentation shows: `betterAuth()`
// with `scim()` and one code-defined provisioning connection holding a static bearer
// credential, served by Node's own http server through `toNodeHandler`. The database is Better
// Auth's memory adapter (it supports the interactive transactions the SCIM plugin requires),
// with one table per model of the resulting schema. The tests start it on loopback behind nginx.
//
// Environment:
//   BETTER_AUTH_PORT   port on 127.0.0.1 (required)
//   BETTER_AUTH_URL    the public origin behind nginx, https://host:port (Better Auth's baseURL)
//   BETTER_AUTH_TOKEN  the bearer token of the provisioning connection (required)
// On start it prints one line: `listening http://127.0.0.1:PORT/api/auth/scim/v2`.
import {randomBytes} from "node:crypto";
import http from "node:http";
import {scim} from "@better-auth/scim";
import {betterAuth} from "better-auth";
import {memoryAdapter} from "better-auth/adapters/memory";
import {getAuthTables} from "better-auth/db";
import {toNodeHandler} from "better-auth/node";

const token = process.env.BETTER_AUTH_TOKEN;
if (!token || !process.env.BETTER_AUTH_PORT) {
    console.error("BETTER_AUTH_TOKEN and BETTER_AUTH_PORT are required");
    process.exit(2);
}

const options = {
    baseURL: process.env.BETTER_AUTH_URL,
    secret: randomBytes(32).toString("hex"),
    telemetry: {enabled: false},
    plugins: [
        scim({
            connections: [
                {id: "identity-provider", credentials: [{type: "bearer", id: "tests", token}]},
            ],
        }),
    ],
};
const tables = Object.values(getAuthTables(options)).map((table) => [table.modelName, []]);
const auth = betterAuth({...options, database: memoryAdapter(Object.fromEntries(tables))});

const server = http.createServer(toNodeHandler(auth));
server.listen(Number(process.env.BETTER_AUTH_PORT), "127.0.0.1", () => {
    console.log(`listening http://127.0.0.1:${server.address().port}/api/auth/scim/v2`);
});
const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
