"""Routes of the register (issue 12)."""

from django.urls import path

from reports import views_register

urlpatterns = [
    path("reports/", views_register.register, name="report-register"),
    path("reports/<int:pk>/download/<str:fmt>/", views_register.download, name="report-download"),
    path("reports/<int:pk>/redeliver/", views_register.redeliver, name="report-redeliver"),
]
