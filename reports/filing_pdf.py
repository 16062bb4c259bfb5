"""The filing document (R7.2) as a printable PDF: a title page, then one section after another, each with
its citation, its facts and its tables; the version and page number in every footer. Built from the same
structured document as the Markdown (``reports.filing``)."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from reports.filing import NONE_CONFIGURED, Filing, title_facts

FONT = "STSong-Light"
MARGIN = 16 * mm
INK = colors.HexColor("#1f2937")
MUTED = colors.HexColor("#6b7280")
RULE = colors.HexColor("#d1d5db")
HEAD_BG = colors.HexColor("#eef2f7")


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    base = ParagraphStyle("base", fontName=font, fontSize=9.5, leading=14, textColor=INK, wordWrap="CJK")
    return {
        "base": base,
        "title": ParagraphStyle("title", base, fontSize=22, leading=30, alignment=TA_CENTER, spaceAfter=8),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=11, leading=16, alignment=TA_CENTER),
        "h2": ParagraphStyle("h2", base, fontSize=13.5, leading=19, spaceBefore=10, spaceAfter=3),
        "cite": ParagraphStyle("cite", base, fontSize=8.5, leading=12, textColor=MUTED, spaceAfter=4),
        "fact": ParagraphStyle("fact", base, leftIndent=8, bulletIndent=0, bulletFontName="Helvetica"),
        "cell": ParagraphStyle("cell", base, fontSize=7.5, leading=10),
        "head": ParagraphStyle("head", base, fontSize=7.5, leading=10, textColor=INK),
        "toc": ParagraphStyle("toc", base, fontSize=10.5, leading=17),
    }


def _p(text, style) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def _table(table, styles, width: float) -> Table:
    """One table of a section; an empty one says so in a row across it, as the Markdown and the page do."""
    data = [[_p(h, styles["head"]) for h in table.headers]]
    data.extend([_p(c, styles["cell"]) for c in row] for row in table.rows)
    empty = not table.rows
    if empty:
        data.append([_p(NONE_CONFIGURED, styles["cell"])] + [""] * (len(table.headers) - 1))
    flow = Table(data, colWidths=[width / len(table.headers)] * len(table.headers), repeatRows=1)
    flow.setStyle(
        TableStyle(
            [
                *([("SPAN", (0, 1), (-1, 1))] if empty else []),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                ("GRID", (0, 0), (-1, -1), 0.4, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return flow


def filing_pdf(filing: Filing) -> bytes:
    """The document as PDF bytes (A4, Chinese-capable built-in CID font: no font files needed)."""
    styles = _styles()
    out = io.BytesIO()
    footer = _("Version %(version)s") % {"version": filing.version}

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, 9 * mm, f"{filing.title}    {footer}")
        canvas.drawRightString(A4[0] - MARGIN, 9 * mm, str(doc.page))
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=filing.title,
        author=filing.operator,
        subject=footer,
    )
    width = doc.width
    story = [Spacer(1, 55 * mm), _p(filing.title, styles["title"])]
    story.append(_p(_("For filing with the cyberspace administration (备案)"), styles["subtitle"]))
    story.append(Spacer(1, 18 * mm))
    facts = Table(
        [
            [_p(label, styles["base"]), _p(value, styles["base"])]
            for label, value in title_facts(filing.operator, filing.version, filing.generated_at)
        ],
        colWidths=[40 * mm, width - 80 * mm],
        hAlign="CENTER",
    )
    facts.setStyle(
        TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    story.append(facts)
    story.append(Spacer(1, 14 * mm))
    story.append(_p(_("Contents"), styles["h2"]))
    story.extend(
        _p(f"{number}. {section.title}", styles["toc"])
        for number, section in enumerate(filing.sections, start=1)
    )
    story.append(PageBreak())
    for number, section in enumerate(filing.sections, start=1):
        head = [_p(f"{number}. {section.title}", styles["h2"]), _p(section.cites, styles["cite"])]
        head.append(_p(section.intro, styles["base"]))
        story.append(KeepTogether(head))
        story.append(Spacer(1, 2 * mm))
        for label, value in section.facts:
            story.append(Paragraph(f"{escape(label)}: {escape(value)}", styles["fact"], bulletText="•"))
        for table in section.tables:
            story.append(Spacer(1, 2 * mm))
            story.append(_table(table, styles, width))
        story.append(Spacer(1, 4 * mm))
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()
