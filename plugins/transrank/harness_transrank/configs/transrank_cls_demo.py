# TransCls: TransRank's control. Same sampler, head and schedule; cross-entropy on the rows.
_base_ = ['./transrank_demo.py']

model = dict(loss='ce')
