/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* libxml2 prints some failures (encoding conversion, I/O) on stderr through its generic error
 * handler, whatever XML_PARSE_NOERROR says: a foreign domain with a broken encoding would put
 * "encoding error" lines in the journal at every ledger rebuild. Every parser here returns its
 * own reason, so programs silence that handler once, in main(), before any thread starts: the
 * handler is per thread, and threads created later take the default set here. */
void xml_quiet_errors(void);
