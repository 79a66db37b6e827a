from django.contrib import admin

from marketplace.catalogue.models import (
    Comment,
    CommentReport,
    CurationDecision,
    Listing,
    ListingPrice,
    ListingReport,
    Rating,
    RatingReport,
    Tag,
)


class ServiceOnlyAdmin(admin.ModelAdmin):
    """Browse and search only: these rows are written by services (curation queue, forms),
    which keep search index, aggregates and curation history right; the admin would not."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ListingPriceInline(admin.TabularInline):
    model = ListingPrice
    extra = 0


class CurationDecisionInline(admin.TabularInline):
    model = CurationDecision
    extra = 0
    readonly_fields = ("actor", "from_status", "to_status", "reason", "created_at")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # decisions are made through the curation queue, which records them


@admin.register(Listing)
class ListingAdmin(ServiceOnlyAdmin):
    list_display = ("name", "kind", "owner", "status", "price_from", "rating_avg", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("name", "slug", "summary", "owner__username", "owner_wallet")
    readonly_fields = (
        "status",
        "is_public",
        "price",
        "price_from",
        "rating_avg",
        "rating_count",
        "rating_histogram",
        "created_at",
        "updated_at",
    )
    raw_id_fields = ("owner",)
    filter_horizontal = ("tags",)
    inlines = [ListingPriceInline, CurationDecisionInline]
    list_select_related = ("owner",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Rating)
class RatingAdmin(ServiceOnlyAdmin):
    list_display = (
        "listing",
        "user",
        "stars",
        "title",
        "dealid",
        "is_hidden",
        "report_count",
        "updated_at",
    )
    list_filter = ("is_hidden",)
    search_fields = ("title", "body", "dealid", "wallet")
    raw_id_fields = ("listing", "user")
    list_select_related = ("listing", "user")


@admin.register(RatingReport)
class RatingReportAdmin(ServiceOnlyAdmin):
    list_display = ("rating", "reporter", "reason", "created_at", "resolved_at")
    raw_id_fields = ("rating", "reporter")


@admin.register(Comment)
class CommentAdmin(ServiceOnlyAdmin):
    list_display = ("listing", "author", "created_at", "is_hidden", "report_count")
    list_filter = ("is_hidden",)
    search_fields = ("body",)
    raw_id_fields = ("listing", "author", "parent")
    list_select_related = ("listing", "author")


@admin.register(CommentReport)
class CommentReportAdmin(ServiceOnlyAdmin):
    list_display = ("comment", "reporter", "reason", "created_at", "resolved_at")
    raw_id_fields = ("comment", "reporter")


@admin.register(ListingReport)
class ListingReportAdmin(ServiceOnlyAdmin):
    list_display = ("listing", "reporter", "reason", "created_at", "resolved_at")
    raw_id_fields = ("listing", "reporter")


@admin.register(CurationDecision)
class CurationDecisionAdmin(ServiceOnlyAdmin):
    list_display = ("listing", "from_status", "to_status", "actor", "created_at")
    list_filter = ("to_status",)
    readonly_fields = ("listing", "actor", "from_status", "to_status", "reason", "created_at")
