"""Report routes (R12.1). Every named route here has rows in the authorization table (tests/architecture)."""

from django.urls import path

from moderation import api, api_queue, api_sanctions, views, views_queue, views_sanctions

urlpatterns = [
    # The report entry of every message, member and group, and of public group info pages (R8.3).
    path("g/<group_code:code>/report/", views.report, name="group-report"),
    path("reports/mine/", views.my_reports, name="my-reports"),
    # Under the group's management pages (R9.2): the owner's and admins' view of conduct cases.
    path("groups/<group_code:code>/manage/reports/", views.manage_reports, name="group-manage-reports"),
    # R11.1-R11.3: the measures on the person and on the groups they own, and their appeals.
    path("sanctions/mine/", views_sanctions.my_sanctions, name="my-sanctions"),
    path("sanctions/<int:pk>/appeal/", views_sanctions.sanction_appeal, name="sanction-appeal"),
]

compliance_urlpatterns = [
    path("cases/", views.case_list, name="case-list"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    # R11.1-R11.3: measures from a case, the sanctions (four eyes, appeals) and the blacklist.
    path("cases/<int:pk>/measures/", views_sanctions.case_measures, name="case-measures"),
    path("sanctions/", views_sanctions.sanction_list, name="sanction-list"),
    path("sanctions/<int:pk>/", views_sanctions.sanction_detail, name="sanction-detail"),
    path("blacklist/", views_sanctions.blacklist, name="blacklist"),
    # R12.1: the review queue (everything waiting for a person), its items and bulk decisions.
    path("queue/", views_queue.queue_page, name="compliance-queue"),
    path("queue/claim-next/", views_queue.claim_next, name="compliance-queue-claim-next"),
    path("queue/bulk/", views_queue.bulk, name="compliance-queue-bulk"),
    path("queue/<int:pk>/", views_queue.item_page, name="compliance-queue-item"),
]

api_urlpatterns = [
    path("complaints/", api.ComplaintCreateApi.as_view(), name="api-complaints"),
    path("sanctions/", api_sanctions.SanctionCreateApi.as_view(), name="api-sanctions"),
    path("sanctions/<int:pk>/decide/", api_sanctions.SanctionDecideApi.as_view(), name="api-sanction-decide"),
    path("review/items/", api_queue.ReviewItemListApi.as_view(), name="api-review-items"),
    path("review/claim-next/", api_queue.ReviewClaimNextApi.as_view(), name="api-review-claim-next"),
    path("review/items/<int:pk>/decide/", api_queue.ReviewDecideApi.as_view(), name="api-review-decide"),
    path("review/items/<int:pk>/release/", api_queue.ReviewReleaseApi.as_view(), name="api-review-release"),
]
