from django.contrib import admin

from marketplace.notifications.models import EmailOutbox, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "kind", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("title", "key", "user__username")
    raw_id_fields = ("user",)


@admin.register(EmailOutbox)
class EmailOutboxAdmin(admin.ModelAdmin):
    """Where a staff member sees why an email was not sent."""

    list_display = ("subject", "recipient", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("recipient", "subject")
    raw_id_fields = ("notification",)
