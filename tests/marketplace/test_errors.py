"""The one error type: its JSON body, its kinds, and a form's first error as one."""

from __future__ import annotations

import dataclasses

import pytest
from django import forms

from marketplace.errors import (
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unavailable,
    form_error,
    title_of,
)


def test_a_refusal_is_a_sentence_and_the_field_at_fault_when_one_is():
    assert AppError("Give a name.").body() == {"error": "Give a name."}
    assert AppError("Give a name.", field="name").body() == {
        "error": "Give a name.",
        "field": "name",
    }


@dataclasses.dataclass(frozen=True)
class _Failure:
    check: str
    message: str


def test_a_refusal_of_several_rules_lists_them_all():
    class Unmatched(AppError):
        def __init__(self, failures: list[_Failure]) -> None:
            super().__init__(" ".join(f.message for f in failures))
            self.failures = failures

    failures = [_Failure("price", "Too cheap."), _Failure("volume", "None left.")]

    assert Unmatched(failures).body() == {
        "error": "Too cheap. None left.",
        "failures": [
            {"check": "price", "message": "Too cheap."},
            {"check": "volume", "message": "None left."},
        ],
    }


@pytest.mark.parametrize(
    ("kind", "status", "code", "title"),
    [
        (AppError, 400, "invalid", "Refused"),
        (Forbidden, 403, "forbidden", "Not allowed"),
        (NotFound, 404, "not_found", "Not found"),
        (Conflict, 409, "conflict", "Not now"),
        (TooLarge, 413, "too_large", "Upload too large"),
        (TooManyRequests, 429, "throttled", "Too many requests"),
        (Unavailable, 503, "unavailable", "Unavailable"),
    ],
)
def test_each_kind_has_its_status_code_and_title(kind, status, code, title):
    error = kind("Words.")

    assert (error.status, error.code, title_of(error)) == (status, code, title)


def test_a_refusal_may_say_its_own_status_and_code_without_changing_its_kind():
    gone = AppError("Retired.", status=410, code="gone")

    assert (gone.status, gone.code, title_of(gone)) == (410, "gone", "Gone")
    assert (AppError.status, AppError.code) == (400, "invalid")


class _Form(forms.Form):
    volume = forms.IntegerField(min_value=1)
    price = forms.DecimalField(label="Price per task (ECT)")

    def clean(self):
        if self.cleaned_data.get("volume") == 7:
            raise forms.ValidationError("Seven is not sold.")
        return self.cleaned_data


def test_a_forms_first_error_names_its_field_by_label_or_by_name():
    priced = form_error(_Form({"volume": "2", "price": "x"}))
    unnamed = form_error(_Form({"volume": "0", "price": "1"}))
    by_name = form_error(_Form({"volume": "2", "price": "x"}), by_label=False)

    assert priced.body() == {
        "error": "Price per task (ECT): Enter a number.",
        "field": "price",
    }
    assert unnamed.body() == {
        "error": "volume: Ensure this value is greater than or equal to 1.",
        "field": "volume",
    }
    assert by_name.body() == {"error": "price: Enter a number.", "field": "price"}


def test_a_forms_own_rule_names_no_field():
    assert form_error(_Form({"volume": "7", "price": "1"})).body() == {
        "error": "Seven is not sold."
    }
