"""hiera/ and modules/ live at the top of the source tree and ship inside the
package as confrt/_hiera and confrt/_modules, so an installed confrt finds its
build-time defaults and built-in modules without the source tree."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["confrt", "confrt.*"]) + ["confrt._hiera", "confrt._modules"],
    package_dir={"confrt._hiera": "hiera", "confrt._modules": "modules"},
    package_data={"confrt._hiera": ["*", "**/*"], "confrt._modules": ["*", "**/*"]},
    exclude_package_data={"": ["__pycache__/*", "**/__pycache__/*", "*.pyc", "**/*.pyc"]},
)
