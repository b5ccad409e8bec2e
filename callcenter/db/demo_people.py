"""Names and numbers for demo people, drawn so a caller's name fits their number.

A demo screen-pop that shows "Søren Lindqvist" for a Swedish mobile and
"Kofi Mensah" for a Ghanaian one reads like a real CRM; accents and non-ASCII
letters are there on purpose, since they are what breaks naive code.
"""

from __future__ import annotations

import random
from functools import cache

import phonenumbers

#: region code -> (first names, last names)
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "US": (
        ("Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Maya", "Jamal", "Grace", "Diego"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis", "Lee"),
    ),
    "GB": (
        ("Oliver", "Amelia", "George", "Isla", "Harry", "Freya", "Siobhan", "Rhys", "Priya"),
        ("Taylor", "Evans", "Wilson", "O'Brien", "Hughes", "Patel", "Walsh", "Morgan"),
    ),
    "FR": (
        ("Chloé", "Élodie", "Émile", "Amélie", "Théo", "Léa", "Maël", "Inès", "Gaëlle"),
        ("Dubois", "Moreau", "Lefèvre", "Girard", "Rousseau", "Bonnet", "Mercier", "Faure"),
    ),
    "DE": (
        ("Jürgen", "Lena", "Jonas", "Sophie", "Lukas", "Hannah", "Björn", "Anja", "Jörg"),
        ("Müller", "Schröder", "Fischer", "Weiß", "Schäfer", "Köhler", "Becker", "Groß"),
    ),
    "ES": (
        ("Sofía", "Tomás", "Lucía", "Martín", "Nuria", "Íñigo", "Begoña", "Álvaro"),
        ("García", "Fernández", "López", "Martínez", "Muñoz", "Jiménez", "Peña", "Ibáñez"),
    ),
    "SE": (
        ("Søren", "Ingrid", "Åsa", "Björn", "Maja", "Linnéa", "Göran", "Elsa"),
        ("Lindqvist", "Svensson", "Andersson", "Nyström", "Åberg", "Öberg", "Sjöberg"),
    ),
    "PL": (
        ("Łukasz", "Zofia", "Michał", "Agnieszka", "Paweł", "Małgorzata", "Wojciech"),
        ("Kowalski", "Wiśniewska", "Wójcik", "Kamiński", "Lewandowska", "Zieliński"),
    ),
    "CZ": (
        ("Tomáš", "Jiří", "Kateřina", "Lucie", "Ondřej", "Zuzana", "Petr"),
        ("Novák", "Dvořák", "Svoboda", "Černá", "Procházka", "Kučera", "Veselá"),
    ),
    "BR": (
        ("João", "Ana", "Inês", "Gonçalo", "Luíza", "Thiago", "Conceição"),
        ("Silva", "Costa", "Gonçalves", "Araújo", "Magalhães", "Simões", "Brandão"),
    ),
    "TR": (
        ("Ömer", "Ayşe", "Çağrı", "Elif", "Gülşen", "Barış", "Şule"),
        ("Yılmaz", "Öztürk", "Çelik", "Şahin", "Doğan", "Aydın", "Kılıç"),
    ),
    "IN": (
        ("Priya", "Raj", "Ananya", "Arjun", "Lakshmi", "Vikram", "Sneha"),
        ("Patel", "Sharma", "Iyer", "Reddy", "Nair", "Gupta", "Banerjee"),
    ),
    "JP": (
        ("Hiro", "Yuki", "Kenji", "Sakura", "Haruto", "Aiko", "Ren"),
        ("Tanaka", "Satō", "Suzuki", "Takahashi", "Itō", "Watanabe", "Kobayashi"),
    ),
    "GH": (
        ("Kofi", "Ama", "Kwame", "Akosua", "Yaw", "Efua", "Kwesi"),
        ("Mensah", "Owusu", "Boateng", "Asante", "Osei", "Appiah", "Adjei"),
    ),
    "NG": (
        ("Olusegun", "Chiamaka", "Emeka", "Ngozi", "Tunde", "Adaeze", "Ifeoma"),
        ("Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Nwosu", "Oyelaran"),
    ),
    "AE": (
        ("Fatima", "Yusuf", "Aisha", "Omar", "Layla", "Khalid", "Nadia"),
        ("Haddad", "Al-Mansouri", "Ibrahim", "Khoury", "Al-Hashimi", "Nasser"),
    ),
    "NL": (
        ("Daan", "Sanne", "Bram", "Fleur", "Joris", "Noor", "Sem"),
        ("de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "de Jong"),
    ),
}

#: how often a region's numbers turn up among callers (a US-centred business
#: with customers abroad)
REGION_WEIGHTS: dict[str, int] = {
    "US": 30, "GB": 10, "FR": 8, "DE": 8, "ES": 6, "SE": 4, "PL": 4, "CZ": 3, "BR": 5,
    "TR": 3, "IN": 6, "JP": 4, "GH": 2, "NG": 3, "AE": 2, "NL": 4,
}  # fmt: skip


def pick_region(rng: random.Random) -> str:
    regions = list(REGION_WEIGHTS)
    return rng.choices(regions, [REGION_WEIGHTS[r] for r in regions])[0]


def person_name(rng: random.Random, region: str) -> str:
    first, last = NAMES[region]
    return f"{rng.choice(first)} {rng.choice(last)}"


def mobile_number(rng: random.Random, region: str) -> str:
    """A valid-looking mobile number of ``region`` in E.164: the region's example
    number with its last digits drawn, which keeps the prefix plan real."""
    country_code, national = _example_mobile(region)
    keep = max(1, len(national) - 6)
    drawn = "".join(str(rng.randint(0, 9)) for _ in national[keep:])
    number = phonenumbers.PhoneNumber(
        country_code=country_code, national_number=int(national[:keep] + drawn)
    )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@cache
def _example_mobile(region: str) -> tuple[int, str]:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None or example.country_code is None:
        raise ValueError(f"no example mobile number for {region}")
    return example.country_code, str(example.national_number)
