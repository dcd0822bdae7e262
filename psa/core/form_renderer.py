"""The form renderer (settings.FORM_RENDERER): widgets render through Jinja2 with Django's own widget templates
(django/forms/jinja2), the same HTML as the Django-template renderer at a fraction of the cost (a select of a few
hundred options rendered one template include per option; the filter bars were a sixth to a third of a list
page's server time). A template that exists only for Django's template engine (the admin's widgets, such as
admin/widgets/related_widget_wrapper.html) is rendered by Django's renderer."""

from functools import cached_property

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template.exceptions import TemplateDoesNotExist


class WidgetRenderer(Jinja2):
    @cached_property
    def _django(self) -> DjangoTemplates:
        return DjangoTemplates()

    def get_template(self, template_name):
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self._django.get_template(template_name)
