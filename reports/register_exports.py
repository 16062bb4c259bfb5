"""CSV and printable PDF renderings of a regulator report (R11.4). The JSON document
(``reports.delivery.document``) is the authoritative form; these show the same payload as field/value rows,
with the signature and key id so that a printed copy can be checked against it."""

from __future__ import annotations

import csv
import io

from django.utils.translation import gettext as _

from reports import signing


def flatten(value, prefix: str = "") -> list[tuple[str, str]]:
    """Dotted field names and their values, in the canonical (sorted) order."""
    if isinstance(value, dict):
        rows = []
        for key in sorted(value):
            rows.extend(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(value, list):
        rows = []
        for index, item in enumerate(value):
            rows.extend(flatten(item, f"{prefix}[{index}]"))
        return rows or [(prefix, "")]
    if value is None:
        return [(prefix, "")]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, str(value))]


def _signature_rows(report) -> list[tuple[str, str]]:
    return [
        ("signature.alg", signing.ALGORITHM),
        ("signature.key_id", report.key_id),
        ("signature.value", report.signature),
    ]


# A cell starting with one of these is read as a formula (or, tab and carriage return first, shifted into
# one) by spreadsheets: CSV injection.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """The cell as text a spreadsheet never evaluates: a formula-like start is quoted with an apostrophe."""
    return "'" + value if value.startswith(FORMULA_LEADS) else value


def report_csv(report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["field", "value"])
    for field, value in [*flatten(report.payload), *_signature_rows(report)]:
        writer.writerow([csv_safe(field), csv_safe(value)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: spreadsheets read it as UTF-8


def report_pdf(report) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    title_style = ParagraphStyle("title", fontName=font, fontSize=15, leading=20)
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK")
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm
    )
    heading = _("Regulator report %(id)s") % {"id": report.idempotency_key}
    meta = [
        (_("Kind"), report.get_kind_display()),
        (_("State"), report.get_state_display()),
        (_("Generated at"), report.created_at.isoformat() if report.created_at else ""),
    ]
    rows = [*meta, *flatten(report.payload), *_signature_rows(report)]
    table = Table(
        [[Paragraph(escape(str(k)), cell_style), Paragraph(escape(str(v)), cell_style)] for k, v in rows],
        colWidths=[60 * mm, 120 * mm],
        repeatRows=0,
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
            ]
        )
    )
    doc.title = report.idempotency_key
    doc.build([Paragraph(escape(heading), title_style), Spacer(1, 5 * mm), table])
    return buffer.getvalue()
