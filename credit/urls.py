from django.urls import path

from credit import views

urlpatterns = [
    path("", views.my_credit, name="my-credit"),
]

compliance_urlpatterns = [
    path("credit/", views.search, name="credit-search"),
    path("credit/adjustments/", views.adjustments, name="credit-adjustments"),
    path("credit/adjustments/<int:pk>/decide/", views.adjustment_decide, name="credit-adjustment-decide"),
    path("credit/<int:user_id>/", views.user_credit, name="credit-user"),
]
