# TransCls at paper scale: TransRank's paper config with cross-entropy on the rows.
_base_ = ['./transrank_paper.py']

model = dict(loss='ce')
