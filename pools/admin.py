from django.contrib import admin

from marketplace.catalogue.admin import ServiceOnlyAdmin
from pools.models import Workerpool


@admin.register(Workerpool)
class WorkerpoolAdmin(ServiceOnlyAdmin):
    list_display = ("listing", "cpu_cores", "memory_mb", "location", "energy_class", "visibility")
    list_filter = ("location", "energy_class", "visibility")
    search_fields = ("listing__name",)
    raw_id_fields = ("listing",)
