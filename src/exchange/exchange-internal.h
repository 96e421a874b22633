/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Between the exchange state machine (exchange.c) and its drivers (exchange-loop.c). */

#include "cvm/exchange.h"

/* A driver's state, freed with the session (the sd-event driver keeps its sources here). */
void exchange_host_session_set_driver(ExchangeHostSession *s, void *data, void (*free_data)(void *data));
void *exchange_host_session_driver(const ExchangeHostSession *s);
