from django.contrib.auth import get_user_model


def user_get_by_username(username: str):
    return get_user_model().objects.filter(username=username).first()
