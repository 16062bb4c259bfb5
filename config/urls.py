"""URL routes. Every named route here must have rows in the authorization table (tests/architecture)."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.views import healthz
from credit import urls as credit_urls
from groups import urls as groups_urls
from identity import urls as identity_urls
from moderation import urls as moderation_urls
from reports import urls_inspection as inspection_urls

urlpatterns = [
    path("", include("groups.urls")),
    path("groups/<group_code:code>/manage/", include("groups.manage_urls")),
    path("", include("groups.info_urls")),
    path("", include("moderation.urls")),
    path("accounts/", include("identity.urls")),
    path("credit/", include("credit.urls")),
    path("notifications/", include("notifications.urls")),
    path("legal/", include(identity_urls.legal_urlpatterns)),
    path("compliance/", include(identity_urls.compliance_urlpatterns)),
    path("compliance/", include("audit.urls")),
    path("compliance/", include(credit_urls.compliance_urlpatterns)),
    path("compliance/", include(groups_urls.compliance_urlpatterns)),
    path("compliance/", include(moderation_urls.compliance_urlpatterns)),
    path("compliance/", include("reports.urls")),
    path("compliance/", include(inspection_urls.grant_urlpatterns)),
    path("inspection/", include(inspection_urls.urlpatterns)),
    path("api/", include("groups.api_urls")),
    path("api/", include(moderation_urls.api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = admin.site.site_title = settings.SPECTACULAR_SETTINGS["TITLE"]

handler403 = "common.views.permission_denied"
handler404 = "common.api.page_not_found"  # JSON under /api/
