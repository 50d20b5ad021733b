import { describe, expect, it } from 'vitest';
import {
  editSimilarity,
  exactMatch,
  normalize,
  postprocess,
  pySplit,
  pyStrip,
  scoreAll,
  scoreTask,
  sequenceRatio,
  stripComments,
} from './metrics.js';
import { bootstrapDiff, bootstrapGroupMean, bootstrapMean, DEFAULT_SAMPLES, groupMeans, quantile } from './bootstrap.js';

describe('scorer, step by step (the released scorer, METHOD.md §2)', () => {
  it('step 0: removes FIM markers and trims the prediction with Python whitespace', () => {
    expect(postprocess('<|fim_middle|>5)', '5)')).toBe('5)');
    expect(postprocess('\n\nresult', 'result')).toBe('result'); // trimmed before the first-line rule
    expect(pyStrip('\x1c\u00a0 x \u3000')).toBe('x'); // \x1c is Python whitespace, not JavaScript's
    expect(pyStrip('\ufeffx')).toBe('\ufeffx'); // the BOM is JavaScript whitespace, not Python's
    expect(pySplit('  a\t b\n')).toEqual(['a', 'b']);
    expect(pySplit(' \n ')).toEqual([]);
  });
  it('step 1: keeps the first line only when the target has none', () => {
    expect(postprocess('b)\n        self.assertEqual(c, d)', 'b)')).toBe('b)');
    expect(postprocess('{\n  "a": 1\n}', '{\n  "a": 1\n}')).toBe('{\n  "a": 1\n}');
    expect(postprocess('None)\n', 'None)')).toBe('None)');
  });
  it('step 2: cuts comments at the first # on both sides, even inside a string literal', () => {
    expect(stripComments('x  # the answer')).toBe('x');
    expect(stripComments('x) # comment')).toBe('x)');
    expect(stripComments('"#fff")')).toBe('"');
    expect(stripComments('# only a comment')).toBe('');
    expect(postprocess('"#000")', '"#fff")')).toBe('"');
    // both sides reduce to '"', so a wrong colour scores as right: the quirk kept for comparability
    expect(scoreTask('"#000")', '"#fff")')).toMatchObject({ exact: 1, edit: 1, prediction: '"', target: '"' });
  });
  it('step 3: the comma cut when the target has no comma', () => {
    expect(postprocess('ValueError, f, 1)', 'ValueError)')).toBe('ValueError');
    expect(postprocess('"a, b"', '"a, b"')).toBe('"a, b"'); // the target has a comma: no cut
    expect(postprocess('1, 2', '# c')).toBe('1, 2'); // empty stripped target: no step 3
  });
  it('step 3: the single-token rule', () => {
    expect(postprocess('True and x', 'True')).toBe('True');
    expect(postprocess('f(x)\ty', 'f(x)')).toBe('f(x)');
    expect(postprocess('foo(a, b)', 'foo(a,b)')).toBe('foo(a,'); // one-token target with a comma
    expect(postprocess('[1, 2, 3]', '[1,2,3]')).toBe('[1,');
    expect(postprocess('a b', 'a + b')).toBe('a b'); // the target has several tokens: no cut
    expect(postprocess('x\u00a0y', 'x')).toBe('x'); // NBSP separates tokens in Python
  });
  it('step 4: normalisation for exact match', () => {
    expect(normalize('  foo(a,   b)\t ,: ')).toBe('foo(a, b)'); // ', ' -> ',' once, then the run of two spaces collapses
    expect(normalize('value:')).toBe('value');
    expect(normalize('foo(a , b)')).toBe('foo(a,b)'); // ", " first gives "a ,b", then " ," gives "a,b"
    expect(normalize('foo(a,  b)')).toBe('foo(a, b)'); // one replacement per ", ": a second space survives
    expect(normalize('x,\n:')).toBe('x,'); // the trailing set has no newline: ':' goes, ',' stays
    expect(normalize('{ "a": 1,\n}')).toBe('{ "a": 1, }'); // ',\n' is not ', ': the comma keeps its space
    expect(exactMatch('value:', 'value')).toBe(true);
    expect(exactMatch('foo(a , b)', 'foo(a, b)')).toBe(true);
    expect(exactMatch('foo(a,  b)', 'foo(a, b)')).toBe(false);
    expect(exactMatch('{ "a": 1 }', '{\n "a": 1\n}')).toBe(true);
    expect(exactMatch('{\n    "a": 1}', '{"a": 1}')).toBe(false);
    expect(exactMatch(' 42\n    assert y == 3', '42')).toBe(true);
    expect(exactMatch('TypeError):\n        f()', 'TypeError)')).toBe(true);
    expect(exactMatch('abc', '# only a comment')).toBe(false);
    expect(exactMatch('', '')).toBe(true);
  });
  it('step 5: edit similarity on the step-3 prediction and step-2 target, not normalised', () => {
    // 'TypeError):' vs 'TypeError)': 10 matches, 2*10/21
    expect(editSimilarity('TypeError):\n        f()', 'TypeError)')).toBeCloseTo(20 / 21, 12);
    // 'value:' vs 'value': 2*5/11 (step 4 would have made it 1)
    expect(editSimilarity('value:', 'value')).toBeCloseTo(10 / 11, 12);
    // '{ "a": 1 }' vs '{\n "a": 1\n}': 9 matching characters of 10 + 11
    expect(editSimilarity('{ "a": 1 }', '{\n "a": 1\n}')).toBeCloseTo(18 / 21, 12);
    expect(editSimilarity('foo(a , b)', 'foo(a, b)')).toBeCloseTo(18 / 19, 12);
    expect(editSimilarity('"a"', '"a, b"')).toBeCloseTo(2 / 3, 12);
    expect(editSimilarity('x)  ', 'x) # comment')).toBe(1);
    expect(editSimilarity('abc', '# only a comment')).toBe(0);
    expect(editSimilarity('', '')).toBe(1);
  });
});

describe('edit similarity = difflib.SequenceMatcher.ratio', () => {
  it('matches hand-checked values', () => {
    expect(sequenceRatio('abcd', 'bcde')).toBeCloseTo(0.75, 12);
    expect(sequenceRatio('hello world', 'hallo welt')).toBeCloseTo(2 / 3, 12);
    expect(sequenceRatio('', '')).toBe(1);
    expect(sequenceRatio('a', '')).toBe(0);
    expect(sequenceRatio('x'.repeat(250) + 'abc', 'x'.repeat(240) + 'abd' + 'y'.repeat(30))).toBeCloseTo(0.9201520912547528, 12);
    expect(sequenceRatio('日本語😀x', '日本x😀')).toBeCloseTo(2 / 3, 12);
    expect(editSimilarity('b)\nrest', 'b)')).toBe(1);
  });
  it('agrees with CPython difflib on random pairs (autojunk included)', () => {
    const cases: [string, string, number][] = [
      ['(_b', '(_', 0.8],
      ['yy\n', 'y\n', 0.8],
      ['bya', 'byx', 0.6666666666666666],
      ['_ay', '_y', 0.8],
      ['_b aaa\n=', '_b aaa=', 0.9333333333333333],
      ['\n)xa=)yy', '\n)xa=))yy', 0.9411764705882353],
      ['\n)y,ax=\n', '\n)y,x=\n', 0.9333333333333333],
      ['b =x=\n),', 'b =x=\n)', 0.9333333333333333],
      ['=x_ay)xx\n( =\n by\n=b(', 'y=x_ay)xx\n( = \n by\n_b', 0.8780487804878049],
      ['_x\n((=)a)==)x= _ y,\n', 'xy_x\n((=)a)==)x= ()_ y,\n', 0.9090909090909091],
      [' _=)=xy x a==__ y_a)', ' _)=xy xa a==__ y__ab', 0.8780487804878049],
      ['baya,),b_( ,b((,=(\n,', 'baya,),b_( ,by(,=(\n,', 0.95],
      [
        '),b,=)_xa)ax(a(y=\nx=)\n=y)=\nax\n_ \n\nxa,()a,bb,,(x_,(a=a_)_y(_=',
        ') ,b,=)_xa)aay=\nx=)\n=xy),,ax\n_ \nb\nxa,()a,b,,(x_,(a_a_)_y(_x=',
        0.8833333333333333,
      ],
      [
        '= \n=y=)bab(((=), _=,   b,)_y(_=b axbx(( b__xb_=)_b, ,_=by,ba',
        '_ \n=yx=)bab()((), ==,   b,)y(_b axxbx(( b__xb_=)_b= ,=y,b',
        0.8717948717948718,
      ],
      [
        ' b)\n aaa,_ yx xbb _yb,)_=y\n ,(=),)) b,byb\n_\n )x,a ( _,) b=__',
        'b)\naa,_ yb xbb _yb,)_=y\n ,(=),) b,byb\n_\n ),a (_, b__',
        0.9107142857142857,
      ],
      [
        '(( ,b=_,()(=a _\n=)(,x=(a\n),b\nyx=,=y=yax (,ya\nx_aa _(_((,,x_x',
        '( ,b_,()(=a _\na=)(,x=a\n(),b\nyx=,==yax (,)y,x_aa _=_((,,x_x',
        0.8983050847457628,
      ],
      [
        '=),,,= (y_bb_=_x((,x)_ay\nx\n x=(=a=b,\nb,b(_\n\nby)xxx( y(_y)bx_=xb\n,,)x=a)=y_aa\n_),)(,(=),,_,\ny(= yxb)_x),bab_a=,\n\n(b= _,x=\n = abyy ,=x \n_yb\nxx)=a,\n_=)y_=x,(y_\n=) =a\nx_xx __by)\n\n,\nax\n(\nx,(b_a ,x\n=,(y,y(y=a,=b_xb b',
        '=),,,(= (y_b(b_=_x((x)_a)y(\nx x=(=a=(b,\nb,bb(_\n\nby)xxx(= y(_,)bx_,xb_y\n,,)x=a)=y_aa\n),)((=),,_,\ny(= yx=)_x),bab =,\n\n(b= _,x= ==abyy =x\n \n_yb\nxx)=a,\n_y=)y_=x( _x= =a\nx_xax __y)\n,\n,\na\n(\n(x,(_a ,()x\n=,(y,y(y=a,=b=xb ',
        0.02364066193853428,
      ],
      [
        'y=_x)y, y_b)baaay x_,)x(\n(aax(\n=a_x,(by\n,aa=a=(a,bxb)ay\n(,\n)\nyx \n,,\n\n))a__( x_=\n=a =x=)=x\nb,_b,(b(a)xaa\nb=y= b a(=ay\n(xya=,b, b,axa, (,xb\n,bx)==)  =x_yb(\ny==_==a,() x= bx (_ba,\n= x,  , ==a=b(   _by,yy xb_a(a=y_',
        'y=_x)y,(  y_b)baaay xb_,)x((a(ax(\n=a_x,(by\n,aa=a=ya,x,b\n)ay(,x\n)\nyx ),,\n\n))_( x_=\n=a =x=)==x=\n,_b,(b(a)xaa,\nb=y=baa(=ay\n(xy,=,b,yxb,axa=,\n((,,xb\n,bx)=)  =x_y(\n_y==_=a=a,() x= bx (,ba,\n= x,\n _,  ==a=b(    _b_,yy x,,ba(a=y_',
        0.03248259860788863,
      ],
      [
        '_a xx,\n\nabbax,y, \ny xyby (x(a(, (_,x,=,x,x y)yxxbb()()ab,(ybx\n(abx_a=)=x a\nb=\nx\nb,\n,(ya)\n\nbxb\ny,\n=yxb_yb(x_)(=,x=,y\n=)_ yba\n ,a=\ny,b)=,,)x((,)x=\n_a=_=(x,,y,,y)y _y) (_(_y=(a= =(\n) _yy b((,)b\n=a_(\nb)_)=_\n,x aa,_',
        '_a xx\n\n_abba,y, \nyxy (xa, (_,x,_=,x,\n y)yxxbb()()ab,(yby(abxa=)=x xya=\nx\nb,\n,yab,)\n\nbxb\ny,\n=yxbyb(x_)=,x=,y\n)_ yba\n ,a=\ny,xb),,)yxx((,()x=\n=_=,,y,,y)y _y) (_(_y=(a==(\n) _yy ((,)=a(\nb)_=_\n,x aa,',
        0.8982630272952854,
      ],
      [
        '  ,((xyxb_(,,\n\n\n_a=a\n(x=byax_\nx, xx_yabya\naab_(== =,_\n y)_)b= (ba x ,\n\na_xxx , y)\n_=(a \nb=(=\n\ny b_ay)x\n(x)b)  \n)\nyy y\n\n)xyx=b_y,((axxba\nb(yx\n=,((=b,ayx\n)=xa=)x(\n( \n)b==((x_a=)x)a=)=_\n=b)xyb_\naxb=b\nya=)aa,y,x(_(',
        '  ,(((xyxb_(,,\n\n_aa\n(x=byax_xx, xx_abya\naa_)(== ,_ yy_)b= (xb))_ ,\n\n axxx , y)\n_=(a( \nb=(=\n\ny b_ay)x\n (x)b)\n  \n)\nyy y\n\n)xyx=b_y,((axba\nbx\ny=,((=b,ayx\n=ba=))xb(\n(y\n)b==(x_a=)x)xa=))= \n=b)xy_\naxyb=b\nya=a,),x(_',
        0.023980815347721823,
      ],
      [
        '==xb)x\n=(_,ab)_x\ny=_),a\n(\n\n==)x,\nxx,yb\n((=ayay)x= )bb\naxy)(_=)=x= )) \n_b aya_((,ya_=b_xbx=_\n,x, ya=yax,_ (__=,b_ xx=a__ba_=ab   =a\n _by\nb=y ==a(  )(_(_bx =x  ,_ ab\n),x=,__bb(,xb(,=\n,))b,ya=,)=b=  ,=(ay aa x(=a_\n\n=x())b_(_=b,y)a y _ )\naaya(,=aa)b=(a=))y,)y=  x\nb)_()\n_,_x_y ayab\n\n_\n_x_  b\nx)=y__\n==y_\n_y_y(,\n=,_x_=,,,a_ayy )=y)y \n(xxa\nb a,=a,xa  ,_a)b b\n\nb(,x_ )a\n(=_\n ,,xx=yb)x)_a_)\n))xx)_(, a\n,yy(\n(',
        '==xbx\n=(_ab)_x\ny=_ ),a\n\n==)x_x)yb\n\n((ayay)x= )(bbaxy)=((=)=x ) \n_b a(ya_(b,)a_=b_xbx=_,\n,, )ayax,\n_ (__,_ xx=a__ba_=ab   =a\n _by\nb=y, ==a( )(_=(bx=x  ,_ abxb,__bb(=xb(,=\n ,))b,ya==)=  ,=((ayaa x(=a_\n\n=x())b_(_=b,y)a  _ )\na,aya(,=aa)b=(a=)y,)y=  (x\n )_()\n_,,_x_y ayaxb\n_\n_x_ b) (\nx)=y__\n==y_\n_yy(,\n,b_x_=,,,a_\ny )=y)y \n(xxa\nb a=a,xa  _, (_a)b b\nb(,x_ )a\n(=a_\n ,,x)=ya)x_a,_)b))x)_(, a\n,yy))(\n(',
        0.010101010101010102,
      ],
      [
        ') a),_a)b() =,(()b,_===_=xy_=y(= )xb,))(()a(y (a b_)\n)by\n\n)_ (_\na) y=aa y= (yb= \n_\n,_ _by xb,b\n\n a( ) ,,,yxa,(\n,abxx_), \n_y_,_,\n( ( bx =_)xy(y)a\n)bba==y_y =(_yxax==y(__ a  y)\n\n=,by )((ya _ (_yya_)_ay\n(=)xyb ,(( ((_=,)=xyy==,(=_=,_),\n(\na bxx\n=(_yy=y )abbb=x(yx(yy=_a_)_yyx, (_,(a=a\nb=)y y bxay,xy =b(x=x_y=( ( (_)))y\n(bbxay( = ,xaxyy,,\n_x ,(by(y(yb=b=  y\n=\n _ =_y yx=)()=)_)a _a xa   __\nx),) xx\n(ax\n _',
        ')= ),_a)b( =,()b,_===_=xy_=y((=xb,)(()a(y (a b_)\n)(by\n)_ (_\n) yx=a=yx)=(ybb\n_\n,_ _by xb,b\n\n a( ) ,),ya,(\n,abxx_),, \n__,_,b\n\n( (bx =_)xy(y)a\n)bba=by_ =(_yaxax==y(__ y  yb\n\n=,bby ((ya _(_yya_)_ay\nx=)xyb \n(( ((_=,)=(yy=,(=_=_),\n(\na bxx\n=(_yy=y \n)abbb=x(yx(yy=_a,_yyx,_\n,a=a\nb=)y )xybxay,xy =bx==x_yy=a( (x \n)y)\n(bbxay( = xaxy,\n_x ,(by(y(b=b=  xy\n=\n _ =_y yx =)()=)_)a( _a xa __\nx),) xx\n(ax b',
        0.0025380710659898475,
      ],
      [
        'y=a,=(yy,__( =\nx\nx\n=_xy\n),ab(yb ,,=,(b=(yayy_ = (a=),_by,a\n,=a_xbb\n __\n_yb_y= _\na)(a_bab==,)(=())b= _x,_(,_)b_,aax_,yxxb()\na\nxx  =(())a by )),(=xby\n_ay,,,)(\nx\naxy=a()y\nb,_x)= b))y_b(y \n_\n_xx=xa\nx(x(a,x_x\nb)_,y_x,=b (==,\n\na=\nb y,b,(bxxay_(=xy)=axax_b)\nayb,_a abba_, ,b=y_  (\n =) _))\n),,= ,_a\ny,\n)()(b,x)((=_b x)(ay)xb,)\n,=\ny bbb)b=y=ya_(yx=b)a),)=_,,, ,,aaa\nya)b y\n,b)\nb)a)\n(__\n\naya=)y(=a)(ba( _b==,)x',
        'y=a,=(y(,_( b\nx\nx\n=__y\n),ab(yb ,(a,(b=(yay\n_ = (a=),__by,a\n,=a_xbb\n __\n_yb_y= _\na)(a_a==,)=\n)))b= _x,_(,_)b_,aa)x_,yxbb())a\nxx  =(()a b))),(xby\n_y,,,)(\nx\naxyy=a(()y\nb,_x)= b)y_b(yx\n_\n_xx=x\nxx(a,x_x\nb(_y_x= ==,\n\n=\nb ,b,(bx,a_)(=xy=xx_b)ayb,_a axbba_,,b=y_ ba(\n yx=) ))\n),,, ,_a\nxy,\n))(b,x)(()=_y x)(ay)xb,), =\n xbb)=y==ya_(yx=b)a)b x)=_,,,a,,aaayya)b y\n,b)\nb)a)\n(_\n\n\naya=)=y(=a)(ba( _b)==,)x',
        0.017721518987341773,
      ],
      [
        'yx(x(====_(,xy, yx=x,) ===),a\nb,x(,_,ya(yb)(bxa(bby=\nyaa,a=y\n) _yb  x\nx,b)y= xxx_,((a  xb\n_ _((\nb=)y) _=\n(),((\nxxy a=ba )()xy=_,x_ y b__a(=y(baba(,)yx==,\n,=xbxy)b (\n_a\nx\na, \na_y _a= xa_\ny\n\nbxxb_aa=_x (xa(,=_x\n(_y,__,\nax=_x( (yx_=\n(=\nb___x,xya\n,(\n,x,b,ab\nby(y))a)bbba_\nba,x( bax__)(=_y( _x=_\n( =b\naa_,byba\na,=,__,yxb\n),\n\n(==a ybx\n(,b ,) _(=)_a)y \n(x\n x_yb,a=,= ))))x ,ay=(xyb=,b)bxx(b\ny=\n)(),   ,_(a),',
        'yx(===_(,xy, yx=x,)===),)a\nb,x(,_,ya(yb)(ba(bby=\nya_a_,a=y\n) _yb  x\nx,b)y= xx_,((a  xb)_ _((\nb=)y) _=\n(yx,((\nxxy= a=a =)()=y=_,xyxxb__a(=y(b aaba(()yx=\na,=axbxy)ba((\n_a\n\n, \n)b__,y _a= xa_\ny\n\nxxb_aa=y_x (xa(,=_x\n(\ny__,\nax=_( )yx_=\n(=\nb___(x,xya\n,((b,x,b(b\nby(y) x)a)bbba_\nba,x(bax__)(=_y( _=_\n( =b\naa_bybaa,),__,yxb\n),\n\n(==ayx\n(,,b ,) (b_(=)a)y \n(x\n x_b,ax=,= ))))x ,ay=(xyb=,b)bx(b\ny=\n)(),  a),_()_',
        0.007518796992481203,
      ],
    ];
    for (const [a, b, r] of cases) expect(sequenceRatio(a, b)).toBeCloseTo(r, 12);
  });
  it('scores aligned lists', () => {
    expect(scoreAll(['1', 'x'], ['1', 'y'])).toEqual([
      { exact: 1, edit: 1 },
      { exact: 0, edit: 0 },
    ]);
    expect(() => scoreAll(['1'], [])).toThrow(/1 predictions for 0 targets/);
  });
});

describe('bootstrap', () => {
  const em = Array.from({ length: 400 }, (_, i) => (i % 10 < 6 ? 1 : 0)); // 60%
  it('gives a CI around the mean, deterministic per seed', () => {
    const ci = bootstrapMean(em, { samples: 2000, seed: 1 });
    expect(ci.estimate).toBeCloseTo(0.6, 12);
    expect(ci.lo).toBeGreaterThan(0.54);
    expect(ci.hi).toBeLessThan(0.66);
    expect(ci.hi - ci.lo).toBeGreaterThan(0.06); // ~ 2 * 1.96 * sqrt(.24/400) = 0.096
    expect(bootstrapMean(em, { samples: 2000, seed: 1 })).toEqual(ci);
  });
  it('paired difference: a clear win excludes zero, identical methods straddle it', () => {
    const b = em.map((x, i) => (i % 10 === 5 ? 0 : x)); // b loses 10 points
    const d = bootstrapDiff(em, b, { samples: 2000, seed: 2 });
    expect(d.estimate).toBeCloseTo(0.1, 12);
    expect(d.lo).toBeGreaterThan(0);
    expect(d.probAGreater).toBe(1);
    const same = bootstrapDiff(em, em, { samples: 200 });
    expect([same.lo, same.hi, same.estimate]).toEqual([0, 0, 0]);
    expect(() => bootstrapDiff([1], [1, 0])).toThrow(/same tasks/);
  });
  it('cluster bootstrap over groups is wider when groups are correlated', () => {
    const groups = em.map((_, i) => `repo${Math.floor(i / 40)}`);
    const corr = em.map((_, i) => (Math.floor(i / 40) < 6 ? 1 : 0)); // whole repos right or wrong
    const flat = bootstrapMean(corr, { samples: 2000, seed: 3 });
    const clustered = bootstrapMean(corr, { samples: 2000, seed: 3, groups });
    expect(clustered.hi - clustered.lo).toBeGreaterThan(2 * (flat.hi - flat.lo));
  });
  it("defaults to 5,000 resamples, the paper's setting", () => {
    expect(DEFAULT_SAMPLES).toBe(5000);
    expect(bootstrapMean([1, 0, 1]).samples).toBe(5000);
  });
  it('per-repository average: the mean of repository means, every repository weighing the same', () => {
    // repo a: 9 tasks, all right; repo b: 1 task, wrong. Per task 0.9, per repository 0.5.
    const v = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0];
    const g = [...Array(9).fill('a'), 'b'];
    expect(groupMeans(v, g)).toEqual([
      { group: 'a', mean: 1, n: 9 },
      { group: 'b', mean: 0, n: 1 },
    ]);
    const ci = bootstrapGroupMean(v, g, { samples: 1000, seed: 4 });
    expect(ci.estimate).toBe(0.5);
    expect(ci.n).toBe(2);
    expect(ci.lo).toBe(0); // both resampled repositories are b in about a quarter of the resamples
    expect(ci.hi).toBe(1);
    expect(() => groupMeans([1], [])).toThrow(/0 group labels for 1 values/);
  });
  it('quantile interpolates like numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
  });
});
