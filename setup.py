"""Ships sql/, the default tickerwire.toml and the bundled sample inside the wheel (pyproject.toml holds the rest)."""

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithResources(build_py):
    """Copy sql/ to pipelines/_sql and tickerwire.toml to pipelines/_defaults in the build tree."""

    def run(self):
        super().run()
        if self.editable_mode:
            return  # an editable install reads sql/ and tickerwire.toml from the checkout
        target = Path(self.build_lib) / "pipelines"
        shutil.copytree(HERE / "sql", target / "_sql", dirs_exist_ok=True)
        (target / "_sql" / "__init__.py").write_text("")
        (target / "_defaults").mkdir(parents=True, exist_ok=True)
        (target / "_defaults" / "__init__.py").write_text("")
        shutil.copy2(HERE / "tickerwire.toml", target / "_defaults" / "tickerwire.toml")


setup(
    packages=find_packages(
        include=["tickerwire", "pipelines", "pipelines.*", "dashboard", "dashboard.*"]
    ),
    # The bundled real sample (its Parquet files, manifest and PROVENANCE) and the typing marker.
    package_data={
        "pipelines.sample": ["PROVENANCE.md", "manifest.json", "sample-data/*/*"],
        "tickerwire": ["py.typed"],
    },
    cmdclass={"build_py": BuildWithResources},
)
