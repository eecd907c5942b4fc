"""The URL configuration of django-scim2's README: its urls under `scim/v2/`."""

from django.urls import include, path

urlpatterns = [path("scim/v2/", include("django_scim.urls"))]
