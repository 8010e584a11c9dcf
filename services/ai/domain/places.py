"""Places a marketer names: US states (names and codes), countries (names, aliases, codes), big cities."""

from __future__ import annotations

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "DC": "District of Columbia",
}  # fmt: skip

# Two-letter codes that are also everyday English words: taken as states only after "in"/"from".
AMBIGUOUS_CODES = frozenset({"OR", "IN", "ME", "OK", "HI", "DE", "LA", "PA", "MA", "CO", "AL", "ID", "OH"})

# ISO code → the names and aliases a marketer may use (the first is the canonical name).
COUNTRIES: dict[str, tuple[str, ...]] = {
    "US": ("United States", "USA", "U.S.", "U.S.A.", "America", "the States", "United States of America"),
    "CA": ("Canada",),
    "MX": ("Mexico",),
    "GB": ("United Kingdom", "UK", "U.K.", "Great Britain", "Britain", "England"),
    "IE": ("Ireland",),
    "FR": ("France",),
    "DE": ("Germany",),
    "ES": ("Spain",),
    "IT": ("Italy",),
    "PT": ("Portugal",),
    "NL": ("Netherlands", "Holland"),
    "BE": ("Belgium",),
    "CH": ("Switzerland",),
    "AT": ("Austria",),
    "SE": ("Sweden",),
    "NO": ("Norway",),
    "DK": ("Denmark",),
    "FI": ("Finland",),
    "PL": ("Poland",),
    "GR": ("Greece",),
    "AU": ("Australia",),
    "NZ": ("New Zealand",),
    "JP": ("Japan",),
    "CN": ("China",),
    "KR": ("South Korea", "Korea"),
    "IN": ("India",),
    "SG": ("Singapore",),
    "BR": ("Brazil",),
    "AR": ("Argentina",),
    "CL": ("Chile",),
    "CO": ("Colombia",),
    "ZA": ("South Africa",),
    "NG": ("Nigeria",),
    "EG": ("Egypt",),
    "IL": ("Israel",),
    "AE": ("United Arab Emirates", "UAE"),
    "TR": ("Turkey", "Türkiye"),
}

# Cities known without the workspace's data; the catalogue's examples add the workspace's own.
CITIES: tuple[str, ...] = (
    "New York City", "NYC", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia",
    "San Antonio", "San Diego", "Dallas", "San Jose", "Austin", "Jacksonville", "Fort Worth",
    "Columbus", "Charlotte", "San Francisco", "Indianapolis", "Seattle", "Denver", "Boston",
    "El Paso", "Nashville", "Detroit", "Oklahoma City", "Portland", "Las Vegas", "Memphis",
    "Louisville", "Baltimore", "Milwaukee", "Albuquerque", "Tucson", "Fresno", "Sacramento",
    "Kansas City", "Atlanta", "Miami", "Omaha", "Raleigh", "Minneapolis", "Cleveland", "Tampa",
    "New Orleans", "Pittsburgh", "Cincinnati", "Orlando", "St. Louis", "Salt Lake City",
    "Brooklyn", "Oakland", "Honolulu", "Toronto", "Vancouver", "Montreal", "London", "Paris",
    "Berlin", "Madrid", "Rome", "Amsterdam", "Dublin", "Sydney", "Melbourne", "Tokyo",
)  # fmt: skip

CITY_ALIASES: dict[str, str] = {"NYC": "New York City"}


def state_values(code: str) -> list[str]:
    """What a profile's `state` may hold for this state: its code or its name (rules ignore case)."""
    return [code, US_STATES[code]]


def country_values(code: str) -> list[str]:
    """What a profile's `country` may hold for this country: its code, names and aliases."""
    return [code, *COUNTRIES[code]]
