from django.contrib import admin

from dappstore.models import App
from marketplace.catalogue.admin import ServiceOnlyAdmin


@admin.register(App)
class AppAdmin(ServiceOnlyAdmin):
    list_display = ("listing", "wasm_size", "wasm_sha256")
    search_fields = ("listing__name", "wasm_sha256")
    readonly_fields = ("wasm_sha256", "wasm_size")
    raw_id_fields = ("listing",)
