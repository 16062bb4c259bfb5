"""Routes of the dashboard (issue 12)."""

from django.urls import path

from reports import views_dashboard

urlpatterns: list = [
    path("dashboard/", views_dashboard.compliance_dashboard, name="compliance-dashboard"),
]
