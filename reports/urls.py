"""The reports app's pages under /compliance/ (issue 12): the regulator report register, the filing
document and the compliance dashboard, each in its own routes module."""

from reports import urls_dashboard, urls_filing, urls_register

urlpatterns = [*urls_register.urlpatterns, *urls_filing.urlpatterns, *urls_dashboard.urlpatterns]
