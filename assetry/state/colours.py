"""The Radix colours a state field may hand to `color_scheme`: the build ships only these colours' tokens."""

from typing import Literal

Colour = Literal["gray", "violet", "blue", "green", "amber", "orange", "red"]
