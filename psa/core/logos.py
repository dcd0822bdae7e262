"""An entity's logo: uploaded by finance or an administrator, printed on the entity's documents.

A logo is PNG, JPEG or SVG (checked by its content, not only its name) and at most LOGO_LIMIT. It is stored through
the entity's FileField and never served from MEDIA_ROOT: pages show it through the checked file view
(psa/web/files.py, kind `entity-logo`), and PDFs embed its bytes read from storage (`logo_data_uri`), so rendering
a document never fetches a URL. An SVG is refused when it carries script, event handlers or external references.
"""

import base64
import re

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from psa.core.exceptions import ValidationFailed
from psa.core.files import StoredFile
from psa.core.models import LegalEntity
from psa.core.roles import Role, require_role
from psa.core.uploads import MB, UploadLimit

LOGO_LIMIT = UploadLimit(kind="logo", label="logos", max_bytes=1 * MB, field="logo")
LOGO_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "svg": "image/svg+xml"}
_MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",)}
# What an SVG printed on an invoice has no use for, and a browser opening it could run or fetch.
_SVG_UNSAFE = re.compile(rb"<script|\son[a-z]+\s*=|javascript:|<foreignobject|(?:xlink:)?href\s*=\s*[\"'](?!#)", re.I)


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def logo_check(logo: UploadedFile) -> str:
    """The logo's extension when it is an accepted image within the limit; ValidationFailed naming `logo` else."""
    ext = _extension(logo.name or "")
    if ext not in LOGO_CONTENT_TYPES:
        raise ValidationFailed(
            "A logo must be a PNG, JPEG or SVG image.",
            fields={"logo": [f"'.{ext}' files are not accepted: upload a PNG, JPEG or SVG image."]},
            code="logo_type",
        )
    size = logo.size or 0
    if size > LOGO_LIMIT.max_bytes:
        raise ValidationFailed(
            f"A logo may be at most {LOGO_LIMIT.size}.",
            fields={"logo": [f"This file has {size // 1024} KB; a logo may be at most {LOGO_LIMIT.size}."]},
            code="logo_size",
        )
    logo.seek(0)
    content = logo.read()
    logo.seek(0)
    if ext == "svg":
        head = content.lstrip()[:400].lower()
        looks_right = (head.startswith(b"<?xml") or head.startswith(b"<svg")) and b"<svg" in content[:2000].lower()
        if not looks_right:
            raise ValidationFailed(
                "The file's content is not an SVG image.",
                fields={"logo": ["The content does not match the file type."]},
                code="logo_type",
            )
        if _SVG_UNSAFE.search(content):
            raise ValidationFailed(
                "An SVG logo may not carry scripts, event handlers or links to other files.",
                fields={"logo": ["Save the SVG without scripts or external references, or upload a PNG."]},
                code="logo_type",
            )
    elif not any(content.startswith(magic) for magic in _MAGIC[ext]):
        raise ValidationFailed(
            f"The file's content is not a .{ext} image.",
            fields={"logo": ["The content does not match the file type."]},
            code="logo_type",
        )
    return ext


@transaction.atomic
def entity_logo_set(*, by, entity_id: int, logo: UploadedFile) -> LegalEntity:
    """Store `logo` as the entity's logo (replacing the previous one), after `logo_check`."""
    require_role(by, Role.FINANCE, Role.ADMIN)
    ext = logo_check(logo)
    entity = LegalEntity.objects.select_for_update().get(pk=entity_id)
    old = entity.logo.name if entity.logo else ""
    entity.logo.save(f"{entity.code.lower()}-logo.{ext}", logo, save=False)
    entity.save(update_fields=["logo"])
    if old and old != entity.logo.name:
        transaction.on_commit(lambda: default_storage.delete(old))
    return entity


def logo_file(entity: LegalEntity) -> StoredFile:
    """The logo as a page shows it: inline, with the type its upload was checked for. The caller has checked who
    may read `entity`."""
    name = entity.logo.name or ""
    content_type = LOGO_CONTENT_TYPES.get(_extension(name))
    return StoredFile(
        name=name,
        filename=name.rsplit("/", 1)[-1],
        content_type=content_type or "application/octet-stream",
        as_attachment=content_type is None,
    )


def logo_data_uri(name: str) -> str:
    """The stored logo `name` as a data: URI for a PDF (its bytes from storage, no URL fetch); '' when there is
    none, its type is not a logo's or the file is gone."""
    content_type = LOGO_CONTENT_TYPES.get(_extension(name or ""))
    if not name or content_type is None or not default_storage.exists(name):
        return ""
    with default_storage.open(name, "rb") as handle:
        data = handle.read(LOGO_LIMIT.max_bytes + 1)
    if len(data) > LOGO_LIMIT.max_bytes:
        return ""
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
