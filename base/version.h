/* The release version of ismsd and ismsctl. */
#ifndef ISMS_VERSION
#define ISMS_VERSION "0.1.0"
#endif
