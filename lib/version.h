#ifndef CW_VERSION_H
#define CW_VERSION_H
#define CLAUDEWRAP_VERSION	"0.1.0"
#endif
