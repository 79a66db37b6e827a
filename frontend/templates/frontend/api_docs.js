{% load ui %}{% include "drf_spectacular/swagger_ui.js" with settings=settings|swagger_ui_settings %}
