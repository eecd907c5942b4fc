"""A minimal Django project serving django-scim2, configured as its README says.

Environment (set by tests/thirdparty/servers.py):
  DJANGO_SCIM2_DB      the SQLite database file
  DJANGO_SCIM2_NETLOC  the public host:port behind nginx (SCIM_SERVICE_PROVIDER's NETLOC,
                       from which django-scim2 builds every meta.location)
  DJANGO_SCIM2_TOKEN   the bearer token the provisioning client presents
"""

import os

SITE = "tests.thirdparty.django_scim2_site"
SECRET_KEY = "scim-doctor-tests-not-a-secret-" + "0" * 24
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", os.environ["DJANGO_SCIM2_NETLOC"].rsplit(":", 1)[0]]
USE_X_FORWARDED_HOST = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_scim",
    f"{SITE}.directory",
]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    f"{SITE}.auth.BearerTokenMiddleware",
    "django_scim.middleware.SCIMAuthCheckMiddleware",
]
ROOT_URLCONF = f"{SITE}.urls"
AUTH_USER_MODEL = "directory.User"
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJANGO_SCIM2_DB"]}
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

SCIM_BEARER_TOKEN = os.environ["DJANGO_SCIM2_TOKEN"]
SCIM_SERVICE_PROVIDER = {
    "NETLOC": os.environ["DJANGO_SCIM2_NETLOC"],
    "GROUP_MODEL": f"{SITE}.directory.models.Group",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token in the Authorization header",
        }
    ],
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="django-scim2"',
}
