"""Routes of the filing document (issue 12, R7.2), under /compliance/."""

from django.urls import path

from reports import views_filing

urlpatterns = [
    path("filing/", views_filing.filing_page, name="filing"),
    path("filing/download.md", views_filing.filing_markdown, name="filing-markdown"),
    path("filing/download.pdf", views_filing.filing_pdf_download, name="filing-pdf"),
]
