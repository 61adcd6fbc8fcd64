// Empty: this target only exists to own the precompiled headers (cmake/pch.cmake).
