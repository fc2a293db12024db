"""hiera/ and modules/ live at the top of the source tree and ship inside the
package as confrt/_hiera and confrt/_modules, so an installed confrt finds its
build-time defaults and built-in modules without the source tree."""
import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class FreshBuildPy(build_py):
    """build_py from an empty build/lib/confrt: setuptools only adds to a build folder, so a file
    deleted from the tree (a removed module) would still ship from a checkout built before."""

    def run(self):
        shutil.rmtree(os.path.join(self.build_lib, "confrt"), ignore_errors=True)
        super().run()


setup(
    packages=find_packages(include=["confrt", "confrt.*"]) + ["confrt._hiera", "confrt._modules"],
    package_dir={"confrt._hiera": "hiera", "confrt._modules": "modules"},
    package_data={"confrt._hiera": ["*", "**/*"], "confrt._modules": ["*", "**/*"]},
    exclude_package_data={"": ["__pycache__/*", "**/__pycache__/*", "*.pyc", "**/*.pyc"]},
    cmdclass={"build_py": FreshBuildPy},
)
