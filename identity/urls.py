from django.contrib.auth import views as auth_views
from django.urls import path

from identity import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.login_view, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("verify/", views.verify, name="identity-verify"),
    path("agreements/", views.agreements_accept, name="agreements-accept"),
    path("profile/", views.profile, name="profile"),
    path("sessions/", views.sessions, name="sessions"),
    path("delete/", views.account_delete, name="account-delete"),
]

legal_urlpatterns = [
    path("", views.legal_index, name="legal-index"),
    path("<slug:kind>/", views.legal_document, name="legal-document"),
    path("<slug:kind>/v<int:version>/", views.legal_document, name="legal-version"),
    path("<slug:kind>/diff/<int:old>/<int:new>/", views.legal_diff, name="legal-diff"),
]

compliance_urlpatterns = [
    path("verifications/", views.review_queue, name="review-queue"),
    path("verifications/<int:pk>/", views.review_detail, name="review-detail"),
]
