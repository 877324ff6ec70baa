"""Every reported record holds a number that docs/methods.md gives with a checked source.

The rule (docs/methods.md, top): a paper's number may become a ``"source": "reported"`` record
only if the spec tags it [code], [paper-abs] or [listing]; [mem] numbers never. A reported
record's citation names the paper (its arXiv id) and the section it came from, e.g.
``docs/methods.md §1c``. This test reads the markdown tables of that section and looks for a
row that holds the record's number (and its per-split values) in a cell whose column header,
row labels and table caption describe the record's evaluation (dataset, protocol, splits, R@k,
variant, backbone, pretraining set), and whose source tag is one of the three checked ones.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
METHODS_MD = ROOT / 'docs' / 'methods.md'
RECORDS = ROOT / 'leaderboards' / 'records'

ALLOWED_TAGS = {'code', 'paper-abs', 'listing'}
_TAG = re.compile(r'\[(code|paper-abs|listing|mem)\b')
_CITED = re.compile(r'docs/methods\.md (§\d+[a-z]?)')
_NUMBER = re.compile(r'(?<![\w.])\d+(?:\.\d+)?')
_ARXIV = re.compile(r'arXiv:? ?(\d{4}\.\d{4,5})')

# How the record's names are written in the tables of docs/methods.md. A detection number is
# that of a fine-tuned detector (the harness's voc07/coco protocol 'finetune'); BraVe's frozen
# ('non-finetuned') numbers are its linear SVM's (docs/methods.md §2d).
PROTOCOL_WORDS = {'finetune': ('finetune', 'fine-tune', 'FT', 'detection'),
                  'svm': ('svm', 'lin', 'linear', 'non-finetuned'), 'linear': ('lin', 'linear'),
                  'retrieval': ('retrieval',), 'logistic-1pct': ('1%',)}
NAME_WORDS = {'tsm-r50': ('TSM-50 ×1',), 'tsm-r50x2': ('TSM-50 ×2',), 'vit-b16': ('ViT-B/16',),
              'kinetics600': ('kinetics600', 'K600'), 'imagenet': ('imagenet', 'IN-1k', 'IN FT', 'IN linear', 'IN 1%')}
SPLIT_WORDS = {('1',): ('split 1',), ('1', '2', '3'): ('3-split',)}


@dataclass
class Row:
    cells: list[tuple[str, str]]  # (column header, cell text), left to right
    tags: set[str]                # the row's source tags, else those of the table's caption
    caption: str = ''             # the line just above the table (e.g. '... (VGG16 backbone):')


def section(text: str, ref: str) -> tuple[str, str]:
    """(heading, body) of section ``ref`` of docs/methods.md: '§2' is everything under
    '## 2. ...', '§2c' only its part from the '**(c)' paragraph to the next '**(x)' one."""
    match = re.fullmatch(r'§(\d+)([a-z]?)', ref)
    assert match, f'not a section reference: {ref!r}'
    number, part = match.groups()
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(f'## {number}. ')]
    if not starts:
        return '', ''
    start = starts[0]
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith('## ')), len(lines))
    body = lines[start + 1:end]
    if part:
        parts = [i for i, line in enumerate(body) if re.match(r'\*\*\([a-z]\)', line)]
        first = [i for i in parts if body[i].startswith(f'**({part})')]
        if not first:
            return lines[start], ''
        body = body[first[0]:min((i for i in parts if i > first[0]), default=len(body))]
    return lines[start], '\n'.join(body)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip('|').split('|')]


def table_rows(body: str) -> list[Row]:
    """The rows of every markdown table in ``body``. A row without a source tag of its own
    takes the tags of the line just above its table (e.g. '**(c) Headline numbers** [mem]')."""
    rows, lines, caption, i = [], body.splitlines(), '', 0
    while i < len(lines):
        if not lines[i].startswith('|'):
            caption = lines[i] if lines[i].strip() else caption
            i += 1
            continue
        header = _cells(lines[i])
        i += 2  # the header and the |---| line
        while i < len(lines) and lines[i].startswith('|'):
            cells = list(zip(header, _cells(lines[i])))
            tags = set(_TAG.findall(lines[i])) or set(_TAG.findall(caption))
            rows.append(Row(cells, tags, caption))
            i += 1
        caption = ''
    return rows


def _numbers(cell: str) -> list[float] | None:
    """The numbers of a value cell (one that starts with a number, bold or not), else None."""
    cell = cell.replace('*', '').strip()
    return [float(n) for n in _NUMBER.findall(cell)] if cell[:1].isdigit() else None


def _mentions(text: str, words) -> bool:
    return any(re.search(rf'(?<![\w/]){re.escape(word)}(?![\w/])', text, re.IGNORECASE)
               for word in words)


def _descriptions(record: dict, metric: str) -> list[tuple[str, ...]]:
    """What the row must say about the record: each entry is a set of alternative words."""
    ev = record['eval']
    wanted = [NAME_WORDS.get(ev['name'], (ev['name'],)), PROTOCOL_WORDS.get(ev['protocol'], (ev['protocol'],))]
    wanted += [SPLIT_WORDS[tuple(ev['splits'])]] if tuple(ev['splits']) in SPLIT_WORDS else []
    wanted += [(metric,)] if metric.startswith('R@') else []
    wanted += [(record['variant'],)] if record.get('variant') else []
    backbone = record['backbone']['name']
    wanted += [NAME_WORDS.get(backbone, (backbone,))] if backbone != 'unstated' else []
    pretrain = (record.get('pretrain') or {}).get('dataset', 'unstated')
    wanted += [NAME_WORDS.get(pretrain, (pretrain,))] if pretrain != 'unstated' else []
    return wanted


def find_value(record: dict, metric: str, rows: list[Row]) -> list[Row]:
    """The rows with a cell that holds the record's ``metric`` value (then its per-split values,
    in split order) and that, with its column header, the row's label cells and the table's
    caption, describe the record's evaluation."""
    entry = record['metrics'][metric]
    expected = [entry['value']] + [entry['per_split'][s] for s in record['eval']['splits']
                                   if 'per_split' in entry]
    found = []
    for row in rows:
        labels = ' '.join(cell for _, cell in row.cells if _numbers(cell) is None)
        for header, cell in row.cells:
            numbers = _numbers(cell)
            if numbers is None or len(numbers) < len(expected):
                continue
            if not all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(numbers, expected)):
                continue
            context = f'{header} {labels} {row.caption}'
            if all(_mentions(context, words) for words in _descriptions(record, metric)):
                found.append(row)
    return found


def check_reported(record: dict, text: str) -> list[str]:
    """What is wrong with reported ``record`` against docs/methods.md ``text`` (empty: nothing)."""
    citation = record.get('citation') or ''
    cited = _CITED.search(citation)
    if not cited:
        return [f'citation does not name a section of docs/methods.md: {citation!r}']
    ref = cited.group(1)
    heading, body = section(text, ref)
    if not body:
        return [f'docs/methods.md has no section {ref}']
    problems = []
    arxiv = _ARXIV.search(heading)
    if not arxiv or arxiv.group(1) not in citation:
        problems.append(f'citation does not name the paper of {ref} ({heading!r})')
    if not re.search(re.escape(record['method']['name']), heading, re.IGNORECASE):
        problems.append(f"method {record['method']['name']!r} is not the subject of {ref}")
    rows = table_rows(body)
    for metric, entry in record['metrics'].items():
        found = find_value(record, metric, rows)
        checked = [row for row in found if row.tags and row.tags <= ALLOWED_TAGS]
        if not found:
            problems.append(f"{metric} = {entry['value']} is in no table row of {ref} that "
                            f'describes this evaluation')
        elif not checked:
            tags = sorted({tag for row in found for tag in row.tags}) or ['untagged']
            problems.append(f"{metric} = {entry['value']} is only tagged {tags} in {ref}; "
                            f'only {sorted(ALLOWED_TAGS)} may be reported')
        elif not any(f'[{tag}]' in citation for row in checked for tag in row.tags):
            problems.append(f"citation does not give the source tag of {metric} in {ref} "
                            f"({sorted({tag for row in checked for tag in row.tags})})")
    return problems


def _reported_records() -> dict[str, dict]:
    records = {path.name: json.loads(path.read_text(encoding='utf-8'))
               for path in sorted(RECORDS.glob('*.json'))}
    return {name: record for name, record in records.items() if record['source'] == 'reported'}


REPORTED = _reported_records()


@pytest.fixture(scope='module')
def methods_md() -> str:
    return METHODS_MD.read_text(encoding='utf-8')


def test_there_are_reported_records():
    assert REPORTED, 'no reported records found: the check below would prove nothing'


@pytest.mark.parametrize('name', sorted(REPORTED))
def test_reported_record_matches_methods_md(name, methods_md):
    assert check_reported(REPORTED[name], methods_md) == []


# The checking rule itself: small, readable, and able to fail.

def _record(name_part: str) -> dict:
    names = [name for name in REPORTED if name_part in name]
    assert len(names) == 1, names
    return copy.deepcopy(REPORTED[names[0]])


TRANSRANK_UCF_FT = 'transrank__unstated__pt-unstated__ucf101-finetune'
BRAVE_AF_X2_HMDB = 'brave-V-AF__tsm-r50x2__pt-unstated__hmdb51-svm'
BRAVE_FA_UCF_FT = 'brave-V-FA__tsm-r50x2__pt-audioset__ucf101-finetune'
BRAVE_FA_UCF_FROZEN = 'brave-V-FA__tsm-r50x2__pt-audioset__ucf101-svm'
TRANSITIVE_VOC = 'transitive__vgg16__pt-unstated__voc07-finetune'
SIM_IN_FT = 'sim__vit-b16__pt-imagenet__imagenet-finetune'


def test_section_and_table_rows(methods_md):
    heading, body = section(methods_md, '§1c')
    assert heading.startswith('## 1. TransRank') and '2205.02028' in heading
    rows = table_rows(body)
    assert [row.cells[1][1] for row in rows][:4] == ['90.7', '64.2', '54.0', '25.5']
    assert all(row.tags == {'listing'} for row in rows[:4])
    assert '**(d)' not in body and section(methods_md, '§1d')[1].startswith('**(d)')
    # a table without tags in its rows takes the tag of its caption
    counting = table_rows(section(methods_md, '§5c')[1])
    assert counting and all(row.tags == {'mem'} for row in counting)
    assert section(methods_md, '§42') == ('', '')


def test_a_different_number_fails(methods_md):
    record = _record(TRANSRANK_UCF_FT)
    record['metrics']['top1']['value'] = 90.8
    assert check_reported(record, methods_md)
    record['metrics']['top1']['value'] = 90.7
    assert check_reported(record, methods_md) == []


def test_a_different_per_split_value_fails(methods_md):
    record = _record(BRAVE_AF_X2_HMDB)
    record['metrics']['top1']['per_split']['2'] = 68.5  # the x1 row's split 2
    assert check_reported(record, methods_md)


UCF_FT_ROW = ('| UCF101 finetune top-1 (3-split mean) | 90.7 | '
              '[listing] wizwand/PwC for arXiv 2205.02028 |')


def test_a_number_tagged_mem_fails(methods_md):
    assert UCF_FT_ROW in methods_md
    text = methods_md.replace(UCF_FT_ROW, '| UCF101 finetune top-1 (3-split mean) | 90.7 | [mem] |')
    problems = check_reported(_record(TRANSRANK_UCF_FT), text)
    assert len(problems) == 1 and "only tagged ['mem']" in problems[0]


def test_an_untagged_number_fails(methods_md):
    text = methods_md.replace(UCF_FT_ROW, '| UCF101 finetune top-1 (3-split mean) | 90.7 | PwC |')
    problems = check_reported(_record(TRANSRANK_UCF_FT), text)
    assert len(problems) == 1 and "only tagged ['untagged']" in problems[0]


def test_a_mem_table_in_the_cited_section_fails(methods_md):
    """Learning to Count's numbers (§5c) are all [mem]: none may become a record."""
    record = _record(TRANSRANK_UCF_FT)
    record.update(method={'name': 'count', 'distribution': 'n/a', 'version': 'n/a'},
                  citation='Noroozi et al., ICCV 2017, arXiv:1708.06734 (docs/methods.md §5c)')
    record['eval'].update(name='voc07', protocol='detection', splits=['test'])
    record['metrics'] = {'mAP': {'value': 51.4, 'higher_is_better': True}}
    problems = check_reported(record, methods_md)
    assert len(problems) == 1 and "only tagged ['mem']" in problems[0]


def test_a_citation_of_another_section_fails(methods_md):
    citation = _record(TRANSRANK_UCF_FT)['citation']
    assert '(docs/methods.md §1c)' in citation
    for wrong in ('docs/methods.md §1d', 'docs/methods.md §1a', 'docs/methods.md §2c',
                  'docs/methods.md §10', 'methods.md §1c'):
        record = _record(TRANSRANK_UCF_FT)
        record['citation'] = citation.replace('docs/methods.md §1c', wrong)
        assert check_reported(record, methods_md), wrong


def test_a_citation_without_the_paper_or_the_tag_fails(methods_md):
    record = _record(BRAVE_FA_UCF_FT)
    citation = record['citation']
    record['citation'] = citation.replace('arXiv:2103.16559', 'arXiv:2205.02028')
    assert check_reported(record, methods_md)
    record['citation'] = citation.replace('[listing]', '[code]')
    assert check_reported(record, methods_md)


def test_a_row_of_another_evaluation_fails(methods_md):
    """The number must be in the row and column of the record's own evaluation."""
    def fails(name_part, **changes):
        record = _record(name_part)
        for key, value in changes.items():
            *parents, leaf = key.split('__')
            target = record
            for parent in parents:
                target = target[parent]
            target[leaf] = value
        return check_reported(record, methods_md)

    assert fails(TRANSRANK_UCF_FT, eval__name='hmdb51')             # 90.7 is UCF101's
    assert fails(TRANSRANK_UCF_FT, eval__protocol='retrieval')
    assert fails(TRANSRANK_UCF_FT, eval__splits=['1'])              # listed as a 3-split mean
    assert fails(BRAVE_AF_X2_HMDB, variant='V/A')                   # V/A is another row
    assert fails(BRAVE_AF_X2_HMDB, backbone__name='tsm-r50')        # 69.9 is the x2 row's
    assert fails(BRAVE_FA_UCF_FT, pretrain__dataset='kinetics600')  # listed for AudioSet
    assert fails(BRAVE_FA_UCF_FT, eval__protocol='svm')             # 95.7 is the finetune row
    assert fails(BRAVE_FA_UCF_FROZEN, eval__protocol='finetune')    # 93.1 is 'non-finetuned'
    assert fails(TRANSITIVE_VOC, eval__name='coco')                 # 63.2 is VOC07's
    assert fails(TRANSITIVE_VOC, backbone__name='resnet50')         # the caption says VGG16
    assert fails(SIM_IN_FT, eval__protocol='linear')                # 84.1 is IN FT
    assert fails(SIM_IN_FT, pretrain__dataset='kinetics600')        # the caption says IN-1k
    record = _record('transrank__unstated__pt-unstated__ucf101-retrieval')
    record['metrics'] = {'R@5': record['metrics']['R@1']}           # 54.0 is R@1
    assert check_reported(record, methods_md)
