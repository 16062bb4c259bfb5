from django.urls import path

from notifications import views

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("read/", views.mark_read, name="notifications-read"),
    path("read-all/", views.mark_all_read, name="notifications-read-all"),
    path("count/", views.unread_count, name="notifications-count"),
    path("preferences/", views.preferences, name="notification-preferences"),
]
