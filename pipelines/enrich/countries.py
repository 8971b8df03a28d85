"""Countries a report is about: names, demonyms and capitals used for governments → ISO codes."""

from __future__ import annotations

import re

from pipelines.enrich.text import matchable

# ISO 3166 alpha-2 (EU for the European Union) → how reports name it. Capitals stand for
# governments in headlines ("Beijing curbs…"); ambiguous ones (Washington, Georgia) are left out.
COUNTRIES: dict[str, list[str]] = {
    "US": ["United States", "U.S.", "USA", "U.S.A.", "US", "American", "Americans"],
    "CN": ["China", "Chinese", "Beijing", "PRC"],
    "EU": ["European Union", "EU", "Brussels"],
    "GB": ["United Kingdom", "Britain", "British", "UK", "London"],
    "DE": ["Germany", "German", "Berlin"],
    "FR": ["France", "French", "Paris"],
    "IT": ["Italy", "Italian", "Rome"],
    "ES": ["Spain", "Spanish", "Madrid"],
    "JP": ["Japan", "Japanese", "Tokyo"],
    "KR": ["South Korea", "South Korean", "Seoul"],
    "KP": ["North Korea", "North Korean", "Pyongyang"],
    "IN": ["India", "Indian", "New Delhi"],
    "RU": ["Russia", "Russian", "Moscow", "Kremlin"],
    "UA": ["Ukraine", "Ukrainian", "Kyiv"],
    "IL": ["Israel", "Israeli"],
    "IR": ["Iran", "Iranian", "Tehran"],
    "SA": ["Saudi Arabia", "Saudi", "Riyadh"],
    "AE": ["United Arab Emirates", "UAE", "Emirati", "Abu Dhabi", "Dubai"],
    "TR": ["Turkey", "Turkish", "Ankara", "Türkiye"],
    "CA": ["Canada", "Canadian", "Ottawa"],
    "MX": ["Mexico", "Mexican"],
    "BR": ["Brazil", "Brazilian", "Brasilia"],
    "AR": ["Argentina", "Argentine"],
    "VE": ["Venezuela", "Venezuelan", "Caracas"],
    "TW": ["Taiwan", "Taiwanese", "Taipei"],
    "HK": ["Hong Kong"],
    "SG": ["Singapore"],
    "AU": ["Australia", "Australian", "Canberra"],
    "CH": ["Switzerland", "Swiss"],
    "NG": ["Nigeria", "Nigerian"],
    "ZA": ["South Africa", "South African"],
    "EG": ["Egypt", "Egyptian", "Cairo"],
    "YE": ["Yemen", "Yemeni", "Houthi", "Houthis"],
    "QA": ["Qatar", "Qatari", "Doha"],
    "PK": ["Pakistan", "Pakistani", "Islamabad"],
    "TH": ["Thailand", "Thai", "Bangkok"],
    "KH": ["Cambodia", "Cambodian", "Phnom Penh"],
    "VN": ["Vietnam", "Vietnamese", "Hanoi"],
    "ID": ["Indonesia", "Indonesian", "Jakarta"],
    "PH": ["Philippines", "Philippine", "Filipino", "Manila"],
}
# Written in capitals these are acronyms; in lower case they are ordinary words ("us", "eu").
_STRICT = {"US", "USA", "EU", "UK", "UAE", "PRC", "U.S.", "U.S.A."}


class CountryFinder:
    """One scan per text for every country alias."""

    def __init__(self, countries: dict[str, list[str]] | None = None):
        countries = countries or COUNTRIES
        self._code: dict[str, str] = {}
        strict, loose = [], []
        for code, aliases in countries.items():
            for alias in aliases:
                if alias in _STRICT:
                    strict.append(alias)
                    self._code[alias] = code
                else:
                    loose.append(alias)
                    self._code[alias.lower()] = code
        self._strict = self._compile(strict, 0)
        self._loose = self._compile(loose, re.IGNORECASE)

    @staticmethod
    def _compile(aliases: list[str], flags: int) -> re.Pattern[str]:
        bodies = [re.escape(a) for a in sorted(aliases, key=len, reverse=True)]
        # "U.S." ends in a dot, so the right edge is "not a word character", not \b.
        return re.compile(rf"(?<![\w/.@])(?:{'|'.join(bodies)})(?![\w@/])", flags)

    def find(self, title: str | None, summary: str | None) -> set[str]:
        """ISO codes of the countries named in the title or text."""
        text = matchable(f"{title or ''}\n{summary or ''}")
        found = {self._code[m] for m in self._strict.findall(text)}
        found |= {self._code[m.lower()] for m in self._loose.findall(text)}
        return found
