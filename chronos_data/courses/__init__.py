"""Courses, their modules, and the ordered lessons (videos) inside each module.

Positions are kept exactly 1..n: courses' ``display_order`` over the workspace's live (not
deleted) courses, modules' ``display_order`` within a course, lessons' ``lesson_order`` within a
module. Every change that touches a list rewrites its positions in one UPDATE.

Concurrent edits: every change to a module's lessons locks the module row (``FOR UPDATE``) and
bumps its ``revision``; every change to a course's list of modules locks the course row and bumps
the course's ``revision``. A caller that passes ``expected_revision`` (the revision its page
showed) gets :class:`StaleEdit` instead of a change made over an order it never saw.

The package, by seam: ``catalog`` (courses, the course list, copies, the trash), ``modules``,
``lessons``, ``ordering`` (lesson order and drag and drop), ``outline`` (a course read whole),
``publishing`` (the checklist, publish and unpublish), ``model`` (the records returned), and
``moves`` (a lesson move saved with the concept-order problems it causes; imported as
``chronos_data.courses.moves``, since it reads the insights, which read courses).
"""

from .catalog import (
    create_course,
    delete_course,
    duplicate_course,
    get_course,
    list_courses,
    move_course,
    restore_course,
    update_course,
)
from .lessons import add_lesson, add_lessons, list_lessons, remove_lesson, swap_lesson_video, update_lesson
from .model import Course, CourseOutline, Lesson, Module, ModuleOutline, PublishProblem
from .modules import create_module, delete_module, list_modules, move_module, update_module
from .ordering import arrange_lessons, move_lesson, move_lesson_to_module, reorder_lessons
from .outline import course_outline
from .publishing import publish_anyway, publish_checklist, publish_course, unpublish_course

__all__ = [
    "Course",
    "CourseOutline",
    "Lesson",
    "Module",
    "ModuleOutline",
    "PublishProblem",
    "add_lesson",
    "add_lessons",
    "arrange_lessons",
    "course_outline",
    "create_course",
    "create_module",
    "delete_course",
    "delete_module",
    "duplicate_course",
    "get_course",
    "list_courses",
    "list_lessons",
    "list_modules",
    "move_course",
    "move_lesson",
    "move_lesson_to_module",
    "move_module",
    "publish_anyway",
    "publish_checklist",
    "publish_course",
    "remove_lesson",
    "reorder_lessons",
    "restore_course",
    "swap_lesson_video",
    "unpublish_course",
    "update_course",
    "update_lesson",
    "update_module",
]
