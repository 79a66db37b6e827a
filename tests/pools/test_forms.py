from __future__ import annotations

from marketplace.chain.amounts import ECT_DECIMALS, from_units
from pools.forms import PolicyForm


def test_the_bond_asked_is_written_as_people_write_it():
    form = PolicyForm(initial={"bond_min": from_units(5 * 10**9, decimals=ECT_DECIMALS)})

    assert 'value="5"' in str(form["bond_min"])


def test_a_fraction_of_an_ect_keeps_only_its_digits():
    form = PolicyForm(initial={"bond_min": from_units(70_000_000, decimals=ECT_DECIMALS)})

    assert 'value="0.07"' in str(form["bond_min"])
