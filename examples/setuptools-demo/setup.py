from setuptools import setup

from ferropy.setuptools import FerropyExtension, build_ext

setup(
    packages=["demo"],
    ext_modules=[FerropyExtension("demo.kernels", "demo/kernels.py")],
    cmdclass={"build_ext": build_ext},
)
