/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The controller's half of the FTP and IRC DCC ALGs: a control segment the
 * data plane handed over is parsed, its announced endpoint rewritten to
 * the external one, an expectation installed for the connection the peer
 * will open, the sequence adjustment recorded, and the segment sent on
 * with BPFMASQ_ALG_MARK (the data plane then translates it as usual).
 */
#ifndef BPFMASQ_ALG_CTL_H
#define BPFMASQ_ALG_CTL_H

#include "instance.h"

struct alg_ctl;

struct alg_ctl *alg_ctl_new(const struct instance *in);
void alg_ctl_free(struct alg_ctl *a);
void alg_ctl_segment(struct alg_ctl *a, const struct bpfmasq_alg_event *ev);

#endif
