// CTIFF — libtiff for Swift. TIFFSetField and TIFFGetField are C variadic functions, which Swift cannot call;
// these inline functions call them with one fixed argument type each. Nothing else belongs here.
#include <tiffio.h>

static inline int shim_TIFFSetFieldU32(TIFF * _Nonnull tif, uint32_t tag, uint32_t value) { return TIFFSetField(tif, tag, value); }
static inline int shim_TIFFSetFieldU16(TIFF * _Nonnull tif, uint32_t tag, uint16_t value) { return TIFFSetField(tif, tag, (int)value); }
static inline int shim_TIFFGetFieldU32(TIFF * _Nonnull tif, uint32_t tag, uint32_t * _Nonnull value) { return TIFFGetField(tif, tag, value); }
static inline int shim_TIFFGetFieldU16(TIFF * _Nonnull tif, uint32_t tag, uint16_t * _Nonnull value) { return TIFFGetField(tif, tag, value); }

/// Silences libtiff's own stderr warnings and errors (Descent reports problems itself, in one line).
static inline void shim_TIFFQuiet(void) { TIFFSetWarningHandler(0); TIFFSetErrorHandler(0); }
