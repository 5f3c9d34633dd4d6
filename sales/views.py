from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sales.selectors import leads_for_dashboard


@login_required
@permission_required("capture.view_lead", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    page = Paginator(leads_for_dashboard(), 50).get_page(request.GET.get("page"))
    return render(request, "sales/dashboard.html", {"leads": page})
