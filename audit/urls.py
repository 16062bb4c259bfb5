from django.urls import path

from audit import views

urlpatterns = [
    path("audit/", views.audit_search, name="audit-search"),
    path("audit/export.csv", views.audit_export, name="audit-export"),
    path("holds/", views.holds, name="legal-holds"),
    path("holds/<int:pk>/lift/", views.hold_lift, name="legal-hold-lift"),
]
