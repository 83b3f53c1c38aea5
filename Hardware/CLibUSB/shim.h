#ifndef CARTE_CLIBUSB_SHIM_H
#define CARTE_CLIBUSB_SHIM_H
#include <libusb-1.0/libusb.h>
#endif
