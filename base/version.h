/*
 * The release version of ismsd and ismsctl: the Makefile writes it from
 * scripts/version.sh (git describe, the VERSION file or debian/changelog).
 */
#ifdef ISMS_GEN_VERSION
#include <isms_version.h>
#endif
#ifndef ISMS_VERSION
#define ISMS_VERSION "0.1.0"
#endif
