"""The demo workspace: sample lectures, courses, students and their activity, made by Chronos."""

from .workspace import DEMO_EMAIL, DemoResult, load_demo, remove_demo

__all__ = ["DEMO_EMAIL", "DemoResult", "load_demo", "remove_demo"]
