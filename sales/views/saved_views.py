"""Saving and deleting the dashboard's named views (POST only, CSRF as every form)."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from leadfunnel.auth import signed_in
from sales.forms import SavedViewForm
from sales.services import saved_views
from sales.views.common import sales_view


@sales_view()
@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if form.is_valid():
        try:
            view = saved_views.save_view(
                owner=signed_in(request.user),
                name=form.cleaned_data["name"],
                query=form.cleaned_data["query"],
                shared=form.cleaned_data["shared"],
            )
        except saved_views.ViewNameTaken as taken:
            form.add_error("name", str(taken))
        else:
            messages.success(request, f"Saved the view “{view.name}”.")
            return HttpResponseRedirect(f"{reverse('sales:dashboard')}?{view.query}")
    problems = [str(e) for errors in form.errors.values() for e in errors]
    return render(request, "sales/saved_view_error.html", {"problems": problems}, status=400)


@sales_view()
@require_POST
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    if not saved_views.delete_view(owner=signed_in(request.user), view_id=view_id):
        raise Http404("No view of yours by that id")
    messages.success(request, "Deleted the view.")
    return HttpResponseRedirect(reverse("sales:dashboard"))
