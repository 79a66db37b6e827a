from django.contrib import admin

from datamarket.models import Dataset
from marketplace.catalogue.admin import ServiceOnlyAdmin


@admin.register(Dataset)
class DatasetAdmin(ServiceOnlyAdmin):
    list_display = ("listing", "plain_size", "encrypted_sha256")
    search_fields = ("listing__name", "encrypted_sha256")
    # The wrapped key is never shown; the file is ciphertext.
    exclude = ("wrapped_key",)
    readonly_fields = (
        "encrypted_sha256",
        "encrypted_size",
        "plain_size",
        "original_name",
        "content_type",
        "encrypted_file",
    )
    raw_id_fields = ("listing",)
    filter_horizontal = ("allowed_apps",)
