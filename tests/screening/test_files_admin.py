"""R10.1: the list of prohibited images is managed in the Django admin, every change through the services."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from common.actors import Door
from screening import images, services
from screening.models import Action, ProhibitedImage, ScreeningEvidence
from tests.screening.test_files import GAMBLING, GORE, SYSTEM, _staff, encode, photo, recompressed

ADD_URL = "admin:screening_prohibitedimage_add"
CHANGELIST_URL = "admin:screening_prohibitedimage_changelist"

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(db):
    return _staff("image-manager", "change_lexiconterm")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture(scope="module")
def picture():
    return photo(21)


def _upload(data, name="bad.png"):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _add(client, data, **fields):
    form = {"category": GAMBLING, "action": "block", "note": "from a case file"} | fields
    return client.post(reverse(ADD_URL), {**form, "image": _upload(data)})


def test_r10_1_image_added_through_the_admin_goes_through_the_service(admin_client, manager, picture):
    page = admin_client.get(reverse(ADD_URL))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'enctype="multipart/form-data"' in html and 'name="image"' in html
    assert '<option value="flag"' not in html  # block or hold only

    response = _add(admin_client, encode(picture))
    assert response.status_code == 302, response.content[:500]
    entry = ProhibitedImage.objects.get()
    assert (entry.category, entry.action, entry.note, entry.active) == (
        GAMBLING,
        "block",
        "from a case file",
        True,
    )
    assert entry.added_by == manager
    assert entry.phash == images.fingerprint(encode(picture)).phash
    event = AuditEvent.objects.get(event_type="screening.image_added", target_id=str(entry.pk))
    assert event.actor_id == manager.pk and event.door == Door.ADMIN

    verdict = services.screen_file(actor=SYSTEM, data=recompressed(picture), name="x.jpg", context={})
    assert verdict.action == Action.BLOCK


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"not a picture", "not an image"), (b"", "empty")],
    ids=["text", "empty"],
)
def test_r10_1_unreadable_upload_is_a_form_error(admin_client, data, message):
    response = _add(admin_client, data)
    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["image"])
    assert message in errors
    assert not ProhibitedImage.objects.exists()


def test_r10_1_duplicate_upload_is_a_form_error(admin_client, picture):
    entry = services.prohibited_image_add(
        actor=SYSTEM, image_bytes=encode(picture), category=GORE, action=Action.HOLD
    )
    response = _add(admin_client, encode(picture, "BMP"))
    assert response.status_code == 200
    assert f"#{entry.pk}" in " ".join(response.context["adminform"].form.errors["image"])
    assert ProhibitedImage.objects.count() == 1


def test_r10_1_entry_changed_and_switched_off_through_the_service(admin_client, picture):
    entry = services.prohibited_image_add(
        actor=SYSTEM, image_bytes=encode(picture), category=GAMBLING, action=Action.BLOCK
    )
    url = reverse("admin:screening_prohibitedimage_change", args=[entry.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and images.to_hex(entry.phash) in page.content.decode()
    response = admin_client.post(url, {"category": GORE, "action": "hold", "note": "reviewed"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.category, entry.action, entry.note, entry.active) == (GORE, "hold", "reviewed", False)
    event = AuditEvent.objects.get(event_type="screening.image_changed", target_id=str(entry.pk))
    assert event.data["before"]["action"] == "block" and event.data["after"]["active"] is False

    changelist = reverse(CHANGELIST_URL)
    response = admin_client.post(changelist, {"action": "enable_selected", "_selected_action": [entry.pk]})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.active
    assert AuditEvent.objects.filter(event_type="screening.image_changed").count() == 2


def test_r10_1_entries_removed_through_the_service(admin_client, picture):
    first = services.prohibited_image_add(
        actor=SYSTEM, image_bytes=encode(picture), category=GAMBLING, action=Action.BLOCK
    )
    second = services.prohibited_image_add(
        actor=SYSTEM, image_bytes=encode(photo(22)), category=GAMBLING, action=Action.BLOCK
    )
    third = services.prohibited_image_add(
        actor=SYSTEM, image_bytes=encode(photo(23)), category=GAMBLING, action=Action.BLOCK
    )
    url = reverse("admin:screening_prohibitedimage_delete", args=[first.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    response = admin_client.post(
        reverse(CHANGELIST_URL),
        {"action": "delete_selected", "_selected_action": [second.pk, third.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not ProhibitedImage.objects.exists()
    removed = AuditEvent.objects.filter(event_type="screening.image_removed")
    assert sorted(event.data["image_id"] for event in removed) == [first.pk, second.pk, third.pk]
    assert all(event.door == Door.ADMIN for event in removed)


def test_r10_1_changelist_lists_entries_without_pictures(admin_client, picture):
    entry = services.prohibited_image_add(
        actor=SYSTEM, image_bytes=encode(picture), category=GAMBLING, action=Action.BLOCK, note="案卷 42"
    )
    response = admin_client.get(reverse(CHANGELIST_URL))
    assert response.status_code == 200
    html = response.content.decode()
    assert "案卷 42" in html and images.to_hex(entry.phash) in html


@pytest.mark.parametrize("codenames", [(), ("view_lexiconterm",)], ids=["no-perms", "view-only"])
def test_r10_1_staff_without_the_lexicon_permission_cannot_add_or_remove(client, picture, codenames):
    entry = services.prohibited_image_add(
        actor=SYSTEM, image_bytes=encode(picture), category=GAMBLING, action=Action.BLOCK
    )
    client.force_login(_staff("plain-staff", *codenames))
    assert client.get(reverse(ADD_URL)).status_code == 403
    assert _add(client, encode(photo(22))).status_code == 403
    delete = reverse("admin:screening_prohibitedimage_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert list(ProhibitedImage.objects.values_list("pk", flat=True)) == [entry.pk]


def test_r10_1_file_evidence_shows_the_entry_distance_and_hash(client, picture):
    entry = services.prohibited_image_add(
        actor=SYSTEM, image_bytes=encode(picture), category=GAMBLING, action=Action.BLOCK
    )
    verdict = services.screen_file(
        actor=SYSTEM, data=recompressed(picture), name="IMG_0042.jpg", context={"kind": "attachment"}
    )
    hit = verdict.hits[0]
    viewer = _staff("evidence-viewer", "view_screeningevidence")
    client.force_login(viewer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("admin:screening_screeningevidence_change", args=[verdict.evidence_id]))
    assert page.status_code == 200
    html = page.content.decode()
    expected = (
        f"prohibited image #{entry.pk}: pHash {hit.distance} and dHash {hit.dhash_distance} bits of 64 apart"
    )
    assert expected in html and "IMG_0042.jpg" in html
    evidence_sha = ScreeningEvidence.objects.get(pk=verdict.evidence_id).file_sha256
    assert evidence_sha in html
