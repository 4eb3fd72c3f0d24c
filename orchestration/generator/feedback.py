"""Free-text feedback (survey comments, service-ticket texts, social posts) in English and
Chinese whose language, sentiment and topic are known: the labels of issue 15's taxonomy.

Phrases are templates per language × topic × tone with slots (`{item}`, `{days}`, ...)
filled from small lists; `compose` picks a template, fills its slots and adds an opener
and a closer for whole arrays at once. A tone is a sentiment, or `sarcastic`: a negative
said as praise, labelled negative.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator import fmt

LANGUAGES = ("en", "zh", "und")  # und: a text without letters (emoji only)
EN, ZH, UND = range(3)
SENTIMENTS = ("negative", "neutral", "positive")
NEGATIVE, NEUTRAL, POSITIVE = range(3)
TOPICS = (
    "delivery",
    "product_quality",
    "sizing",
    "price",
    "staff",
    "app_website",
    "returns_refunds",
    "payment",
    "points_rewards",
    "other",
)
TONES = (*SENTIMENTS, "sarcastic")
SARCASTIC = 3
SARCASM_P = 0.03  # share of negatives said sarcastically

# Slot values, English | Chinese, "/"-separated. Items are things one can wear or wash,
# so every phrase fits every item; no slot holds a name, an address or a number like a
# phone's.
SLOTS = {
    name: (tuple(en.split("/")), tuple(zh.split("/")))
    for name, en, zh in (
        (
            "item",
            "jacket/sofa cover/dress/backpack/duvet cover/coat/hoodie/rug/T-shirt/handbag/"
            "wool sweater/scarf/cushion cover/raincoat/skirt/shirt/blanket/tote bag",
            "外套/沙发套/连衣裙/双肩包/被套/大衣/卫衣/地毯/T恤/手提包/羊毛衫/围巾/抱枕套/雨衣/"
            "半身裙/衬衫/毛毯/帆布包",
        ),
        (
            "days",
            "3 days/4 days/5 days/6 days/10 days/12 days/two weeks/three weeks",
            "三天/四天/五天/六天/十天/十二天/两个星期/三个星期",
        ),
        (
            "fast",
            "a day/2 days/under 48 hours/just one day/two days",
            "一天/两天/不到48小时/隔天/第二天",
        ),
        (
            "when",
            "last week/yesterday/on Monday/last month/three days ago/on Friday",
            "上周/昨天/前天/周一/上个月/三天前/周末",
        ),
        ("size", "S/M/L/XL/XS", "S码/M码/L码/XL码/XS码"),
        ("deal", "20% off/30% off/half price/40% off/15% off", "八折/七折/半价/六折/八五折"),
        (
            "points",
            "200 points/500 points/1,000 points/300 points/welcome points",
            "200积分/500积分/1000积分/300积分/新人积分",
        ),
        (
            "where",
            "in the app/on the website/on my phone/on the desktop site",
            "在APP上/在官网/在小程序里/用手机",
        ),
        (
            "agent",
            "the agent/the lady at the counter/the guy on the phone/the chat agent/"
            "the store assistant/the cashier",
            "客服/店员/电话客服/在线客服/收银员/导购",
        ),
        (
            "wait",
            "20 minutes/45 minutes/over an hour/half an hour/40 minutes",
            "二十分钟/四十分钟/一个多小时/半个小时/快一个小时",
        ),
    )
}

EN_PHRASES = {
    "delivery": {
        "negative": (
            "My {item} still hasn't arrived after {days}.",
            "Ordered {when} and the parcel never arrived.",
            "Delivery took {days}, way longer than promised.",
            "The courier left my parcel outside in the rain.",
            "Tracking hasn't updated in {days}. Where is my order?",
            "Not happy with the delivery at all, the box was left at the wrong door.",
            "The driver marked it as delivered but I never got anything.",
            "Shipping is far too slow, {days} for one {item}.",
            "Third time my order came late. Not acceptable.",
            "Delivery was rescheduled twice and nobody told me.",
            "The box was crushed when it arrived.",
        ),
        "sarcastic": (
            "Great, another week waiting for my {item}.",
            "Love how express shipping means {days}.",
            "Wow, only {days} for next-day delivery. Impressive.",
            "My parcel has seen more of the country than I have. Thanks a lot.",
        ),
        "neutral": (
            "When will my order ship?",
            "Can I change the delivery address for the {item} I ordered {when}?",
            "Is there a tracking number for my order?",
            "Do you deliver on weekends?",
            "How long does standard shipping usually take?",
            "Tracking said out for delivery {when} and nothing since, is that normal?",
            "Can the courier leave the parcel with a neighbour?",
            "The {item} was delivered {when}.",
        ),
        "positive": (
            "Delivery was super fast, my {item} arrived in {fast}.",
            "Arrived a day earlier than expected, thanks!",
            "The courier was friendly and the parcel was well packed.",
            "Fast shipping and great tracking updates.",
            "Got my {item} in {fast}, very impressed.",
            "Never had such a quick delivery, well done.",
            "Delivery was on time as always.",
        ),
    },
    "product_quality": {
        "negative": (
            "The {item} arrived damaged.",
            "Not happy with the quality of the {item}, the stitching is coming apart.",
            "The {item} looks nothing like the pictures.",
            "My {item} fell apart after {days}.",
            "The material feels cheap and thin.",
            "There was a hole in the {item} straight out of the box.",
            "Colour faded after one wash, really disappointed.",
            "The {item} is nice but the seams came apart after {days}.",
            "The {item} has a stain on it and smells strange.",
            "Worst quality I've bought in years.",
        ),
        "sarcastic": (
            "Lovely {item}, it lasted a whole {days} before falling apart.",
            "Great quality, the {item} came with a free hole in it.",
            "Really premium material, see-through after one wash.",
        ),
        "neutral": (
            "Is the {item} machine washable?",
            "What material is the {item} made of?",
            "Does the {item} come in other colours?",
            "Is the {item} lined?",
            "How should I care for the {item}?",
            "Is the {item} waterproof?",
            "Received the {item} {when}, haven't tried it yet.",
        ),
        "positive": (
            "Love my new {item}, great quality.",
            "The {item} is even better than in the pictures.",
            "Really well made, the {item} feels solid and soft.",
            "Bought the {item} ages ago and it still looks brand new.",
            "Excellent quality, the stitching is perfect.",
            "Not a single flaw, very happy with the {item}.",
            "Third {item} I've bought from you, never disappointed.",
        ),
    },
    "sizing": {
        "negative": (
            "The {item} runs way too small, I normally wear {size}.",
            "Ordered {size} and it's huge, the size chart is wrong.",
            "Doesn't fit at all, the sleeves are far too short.",
            "The size guide is useless, nothing fits as described.",
            "Sizing is all over the place, this {size} is tighter than my last one.",
            "Not happy, the {item} fits like a size smaller.",
            "Had to exchange twice because the sizes are so inconsistent.",
        ),
        "sarcastic": (
            "Perfect fit, if I lose ten kilos first.",
            "Great, a size {size} that fits like a kids' size.",
        ),
        "neutral": (
            "Which size should I get if I usually wear {size}?",
            "Does the {item} run true to size?",
            "Is there a size chart for the {item}?",
            "Do you have the {item} in {size}?",
            "Should I size up for the {item}?",
            "What are the measurements of size {size}?",
        ),
        "positive": (
            "Fits perfectly, {size} was the right choice.",
            "True to size, the {item} fits like a glove.",
            "The size chart was spot on.",
            "Finally a brand whose size {size} actually fits me.",
            "Great fit, no need to exchange.",
            "Ordered my usual {size} and it's perfect.",
        ),
    },
    "price": {
        "negative": (
            "Way too expensive for what you get.",
            "The {item} was cheaper last week, now the price went up.",
            "Prices keep going up and the quality doesn't.",
            "The coupon didn't apply and I paid full price.",
            "Not worth the money at all.",
            "Paid full price and {when} it was {deal}. Annoying.",
            "Your prices are higher than in other shops.",
        ),
        "sarcastic": (
            "Wow, {deal} on a price you doubled last month. Such a bargain.",
            "Great deal, only twice what it costs elsewhere.",
        ),
        "neutral": (
            "Will the {item} go on sale soon?",
            "Is the {deal} deal also valid in stores?",
            "Can I use two coupons on one order?",
            "Does the price include tax?",
            "When does the sale end?",
            "Do you offer price matching?",
        ),
        "positive": (
            "Great value for money.",
            "Got the {item} at {deal}, such a bargain.",
            "Very fair prices for this quality.",
            "Love the {deal} offers, keep them coming.",
            "Cheaper than anywhere else I looked.",
            "The sale prices are amazing this season.",
        ),
    },
    "staff": {
        "negative": (
            "Waited {wait} on hold before anyone answered.",
            "Nobody in the store offered any help.",
            "Not impressed with {agent}, really unfriendly.",
            "I was passed between three agents and nobody solved anything.",
            "The staff ignored me the whole time I was in the shop.",
            "Had to wait {wait} for a reply in the chat.",
            "The person I spoke to clearly didn't know the products.",
            "Not happy with how {agent} spoke to me.",
        ),
        "sarcastic": (
            "Thanks for {wait} of hold music, really made my day.",
            "Lovely to be ignored by {agent} for ten minutes.",
        ),
        "neutral": (
            "Can I book an appointment with a stylist in store?",
            "What are the customer service opening hours?",
            "Is there a hotline I can call instead of the chat?",
            "Could someone from the team call me back?",
            "Who can I talk to about a problem with my order?",
            "Spoke to {agent} {when} about my order.",
        ),
        "positive": (
            "Huge thanks to {agent}, super helpful.",
            "The staff were friendly and really knew their stuff.",
            "Great service from {agent}, problem solved in minutes.",
            "Very patient and helpful team in the store.",
            "The chat agent answered within a minute, great job.",
            "Never had such friendly service, thank you.",
            "Staff went out of their way to find the {item} for me.",
        ),
    },
    "app_website": {
        "negative": (
            "The app crashes every time I go to checkout.",
            "Can't log in to the app, it keeps showing an error.",
            "The website is painfully slow.",
            "Search never finds what I'm looking for.",
            "Checkout failed three times {where}.",
            "The app logged me out and emptied my basket.",
            "The new app looks nice but it freezes all the time.",
            "The page keeps loading forever {where}.",
        ),
        "sarcastic": (
            "Love the new app update, now it crashes twice as fast.",
            "Great, the website is down again right during the sale.",
        ),
        "neutral": (
            "How do I reset my password?",
            "Is there a dark mode in the app?",
            "Where can I find my order history {where}?",
            "Can I save items to a wishlist {where}?",
            "How do I turn off push notifications?",
            "Does the app work on older phones?",
        ),
        "positive": (
            "The new app is so easy to use.",
            "Checkout {where} is quick and smooth.",
            "Love the wishlist feature in the app.",
            "Website is fast and easy to navigate.",
            "Never had a single problem with the app.",
            "Search works great, found the {item} in seconds.",
        ),
    },
    "returns_refunds": {
        "negative": (
            "Sent the {item} back {days} ago and still no refund.",
            "My refund still hasn't arrived.",
            "The return label never came.",
            "Not happy, my return was refused for no reason.",
            "Returned the {item} {when} and nobody has confirmed it.",
            "The refund was only partial, where is the rest?",
            "The exchange process is far too complicated.",
        ),
        "sarcastic": (
            "Great, {days} and my refund is still processing.",
            "Love paying for return shipping on a faulty item.",
        ),
        "neutral": (
            "How do I return my order?",
            "Can I exchange the {item} for a different colour?",
            "How long does a refund usually take?",
            "Can I return an item bought online in a store?",
            "Is return shipping free?",
            "I returned the {item} {when}, when will I get the refund?",
        ),
        "positive": (
            "Returns were quick and easy.",
            "Got my refund in {fast}, brilliant.",
            "Exchanged the {item} in store without any hassle.",
            "Super easy return process, no questions asked.",
            "The refund was on my card before I expected it.",
            "Happy with how smoothly the exchange went.",
        ),
    },
    "payment": {
        "negative": (
            "I was charged twice for one order.",
            "My card was declined even though it works everywhere else.",
            "Payment failed but the money left my account.",
            "Still waiting for the invoice for the order I placed {when}.",
            "You charged me for the {item} I cancelled.",
            "Can't pay with my usual card, very frustrating.",
            "The payment page keeps rejecting my card.",
        ),
        "sarcastic": (
            "Great, charged twice for one {item}. Very generous of me.",
            "Love a payment that fails and still takes the money.",
        ),
        "neutral": (
            "Which payment methods do you accept?",
            "Can I pay in instalments?",
            "How can I get an invoice for my order?",
            "Can I pay with a gift card?",
            "When will the pending charge disappear from my card?",
            "Can I change the card I paid with?",
        ),
        "positive": (
            "Payment was quick and easy.",
            "Love that I can pay in instalments.",
            "The double charge was refunded straight away, thanks.",
            "Payment at checkout went through instantly.",
            "The invoice arrived right away, very professional.",
            "Paying with my phone is so convenient.",
        ),
    },
    "points_rewards": {
        "negative": (
            "My points from the last order were never credited.",
            "Where are my {points}? They disappeared from my account.",
            "The rewards program is not worth it anymore.",
            "My points expired without any warning.",
            "Couldn't use my {points} at checkout.",
            "Not happy that members get fewer benefits than before.",
        ),
        "sarcastic": (
            "Wow, {points} for spending a fortune. So generous.",
            "Great, my points expired the day before the sale.",
        ),
        "neutral": (
            "How many points do I get per order?",
            "When will my points be credited?",
            "How do I reach the next member tier?",
            "Can I use my {points} in store?",
            "Do points expire?",
            "How do I join the loyalty program?",
        ),
        "positive": (
            "Love collecting points, just got a voucher.",
            "Double points weekend was great.",
            "Member discounts are really worth it.",
            "Redeemed {points} for a nice discount, thanks!",
            "The birthday reward was a lovely surprise.",
            "Great loyalty program, the perks keep getting better.",
        ),
    },
    "other": {
        "negative": (
            "Really disappointed with the whole experience.",
            "Not a good experience this time.",
            "Won't be shopping here again.",
            "Expected much better from this brand.",
            "Overall pretty bad, sorry.",
            "The store was a mess.",
        ),
        "sarcastic": ("Oh great, another fantastic shopping experience.",),
        "neutral": (
            "Are you open on public holidays?",
            "Where is your nearest store?",
            "Nothing to add.",
            "Just browsing for now.",
            "OK.",
            "No comment.",
        ),
        "positive": (
            "Love this!",
            "Nice store, great vibe.",
            "Always a pleasure shopping here.",
            "Best shop in town.",
            "Love the new collection!",
            "Highly recommend.",
            "Great experience overall.",
        ),
    },
}

ZH_PHRASES = {
    "delivery": {
        "negative": (
            "{item}下单{days}了还没收到",
            "{when}买的，到现在都没发货，什么情况？",
            "快递太慢了，等了{days}",
            "物流信息{days}没更新了，我的快递到底在哪",
            "快递员直接把包裹扔门口，也不打电话",
            "显示已签收，可是我根本没收到！",
            "说好的次日达，结果{days}才到，不满意",
            "配送太差了，箱子都压扁了",
        ),
        "sarcastic": (
            "真是太快了，等了{days}",
            "这物流速度，我还以为是从月球寄过来的",
            "呵呵，次日达变成了{days}达，厉害了",
        ),
        "neutral": (
            "请问什么时候发货？",
            "可以改一下收货地址吗？",
            "我{when}下的单，大概几天能到？",
            "请问有快递单号吗？",
            "周末可以送货吗？",
            "可以放快递柜吗？",
            "{item}{when}已经送到了",
        ),
        "positive": (
            "发货超快，{fast}就到了",
            "物流给力，{item}{fast}就收到了",
            "快递小哥很客气，包装也很好",
            "比预计早到了一天，太惊喜了",
            "配送很准时，每次都很放心",
            "物流信息更新很及时，点赞",
            "从来没遇到过这么快的快递",
        ),
    },
    "product_quality": {
        "negative": (
            "收到的{item}有破损",
            "{item}质量太差了，线头到处都是",
            "和图片差太多了，颜色完全不一样",
            "{item}洗了一次就掉色了，很失望",
            "面料很薄，摸起来很廉价",
            "{item}用了{days}就开线了",
            "收到就有个破洞，不满意",
            "款式挺好看，但是做工太粗糙了",
            "有一股很重的味道，放了好几天都没散",
        ),
        "sarcastic": (
            "质量真好，{item}用了{days}就坏了",
            "这做工真是绝了，洗一次就缩水",
        ),
        "neutral": (
            "请问{item}是什么材质的？",
            "{item}可以机洗吗？",
            "这款有其他颜色吗？",
            "{item}防水吗？",
            "请问这个会起球吗？",
            "{item}怎么保养比较好？",
        ),
        "positive": (
            "{item}质量很好，很满意",
            "做工精细，比图片还好看",
            "面料很舒服，摸起来很软",
            "{item}用了大半年了，还跟新的一样",
            "质量没得说，已经回购好几次了",
            "没有任何瑕疵，非常满意",
        ),
    },
    "sizing": {
        "negative": (
            "尺码偏小，我平时穿{size}，这件根本穿不上",
            "买了{size}，结果大了一圈",
            "尺码表完全不准",
            "袖子太短了，一点都不合身",
            "{item}尺码不标准，和之前买的同码差很多",
            "不合身，只能退了，不满意",
        ),
        "sarcastic": ("尺码真准，{size}穿出了童装的效果", "这尺码真贴心，两个我都塞得进去"),
        "neutral": (
            "我平时穿{size}，这款应该选哪个码？",
            "{item}尺码标准吗？",
            "有尺码表吗？",
            "{item}还有{size}吗？",
            "这款需要买大一码吗？",
            "身高165体重50公斤穿什么码？",
        ),
        "positive": (
            "尺码很准，{size}刚刚好",
            "按尺码表买的，非常合身",
            "版型很好，穿上很显瘦",
            "终于买到合身的了，{size}正好",
            "{item}大小合适，不用换",
            "跟平时一样买{size}，完全没问题",
        ),
    },
    "price": {
        "negative": (
            "太贵了，不值这个价",
            "上周刚买的{item}，今天就降价了，心塞",
            "优惠券用不了，只能按原价买",
            "价格一直涨，质量却没变好",
            "比别家贵太多了",
            "原价买的，{when}就{deal}了，有点亏",
        ),
        "sarcastic": ("先涨价再{deal}，真是好划算啊", "这价格真亲民，够我吃一个月泡面了"),
        "neutral": (
            "{item}什么时候有活动？",
            "{deal}活动门店也有吗？",
            "可以叠加使用优惠券吗？",
            "请问价格含税吗？",
            "这次活动什么时候结束？",
            "降价了可以补差价吗？",
        ),
        "positive": (
            "性价比很高",
            "{deal}买的{item}，太划算了",
            "这个价格这个质量，很值",
            "活动力度很大，囤了好几件",
            "价格很良心，比别家便宜",
            "趁{deal}入手，超值",
        ),
    },
    "staff": {
        "negative": (
            "{agent}态度太差了",
            "电话打了{wait}都没人接",
            "在线客服{wait}都不回复",
            "店员一直在玩手机，根本不理人",
            "转了好几个客服，问题还是没解决",
            "{agent}什么都不懂，问了也白问",
            "对{agent}的服务很不满意",
        ),
        "sarcastic": (
            "客服效率真高，等了{wait}终于等到一句“请稍等”",
            "店员真热情，我站了十分钟都没人理",
        ),
        "neutral": (
            "可以预约店员帮忙搭配吗？",
            "请问客服热线怎么打？",
            "人工客服怎么转？",
            "可以让客服给我回个电话吗？",
            "{when}和{agent}沟通过，后续有人跟进吗？",
            "在线客服几点上班？",
        ),
        "positive": (
            "{agent}很耐心，点赞",
            "店员很热情，帮我找到了合适的{item}",
            "客服回复很快，问题很快就解决了",
            "服务态度特别好，下次还来",
            "谢谢{agent}，非常专业",
            "第一次遇到这么好的客服",
        ),
    },
    "app_website": {
        "negative": (
            "APP一到结算就闪退",
            "登录不上，一直提示错误",
            "官网太卡了，打开一个页面要好久",
            "搜索功能太难用了，什么都搜不到",
            "{where}结账一直失败",
            "更新之后APP老是崩溃",
            "小程序挺方便的，就是老是卡死",
        ),
        "sarcastic": ("新版APP真厉害，闪退速度又提升了", "大促的时候官网准时崩，真靠谱"),
        "neutral": (
            "密码忘了怎么重置？",
            "{where}怎么查看历史订单？",
            "APP有收藏功能吗？",
            "怎么关闭推送通知？",
            "小程序和APP的账号是通用的吗？",
            "旧手机能用这个APP吗？",
        ),
        "positive": (
            "新版APP很好用",
            "{where}下单很流畅",
            "小程序很方便，几秒钟就下单了",
            "官网设计很清爽，找东西很方便",
            "APP从来没出过问题",
            "搜索很好用，马上就找到了{item}",
        ),
    },
    "returns_refunds": {
        "negative": (
            "{item}寄回去{days}了，退款还没到",
            "退款一直没到账",
            "申请退货一直没人处理",
            "无理由拒绝我的退货，很不满意",
            "退款只退了一部分，剩下的呢？",
            "换货流程太麻烦了",
            "{when}就寄回去了，到现在都没收到确认",
        ),
        "sarcastic": ("退款效率真高，{days}了还在“处理中”", "坏的东西还要我自己出运费退，真贴心"),
        "neutral": (
            "怎么申请退货？",
            "{item}可以换个颜色吗？",
            "退款一般几天到账？",
            "网上买的可以去门店退吗？",
            "退货运费谁出？",
            "我{when}退了{item}，退款什么时候到？",
        ),
        "positive": (
            "退货很方便，点个赞",
            "退款{fast}就到账了，很快",
            "在门店换了{item}，一点都不麻烦",
            "七天无理由退货，很放心",
            "退款比预想的快多了",
            "换货很顺利，很满意",
        ),
    },
    "payment": {
        "negative": (
            "一个订单被扣了两次钱",
            "付款失败了，钱却扣了",
            "银行卡一直被拒，别的地方都能用",
            "{when}的订单发票到现在还没开",
            "取消的订单还是扣款了",
            "支付宝付不了，太麻烦了",
        ),
        "sarcastic": ("扣两次钱，真是太大方了", "付款失败还照样扣钱，厉害"),
        "neutral": (
            "支持哪些付款方式？",
            "可以分期付款吗？",
            "怎么开发票？",
            "可以用微信支付吗？",
            "重复扣的款什么时候退回？",
            "付款后可以换卡吗？",
        ),
        "positive": (
            "付款很方便，一下就好了",
            "支持花呗分期，太好了",
            "重复扣款马上就退回来了，谢谢",
            "微信支付很快，体验很好",
            "发票开得很及时",
            "支付流程很顺畅",
        ),
    },
    "points_rewards": {
        "negative": (
            "上次的积分一直没到账",
            "我的{points}怎么不见了？",
            "积分突然过期了，也没提醒",
            "结账的时候{points}用不了",
            "会员权益越来越少了，不满意",
            "积分规则改来改去，太坑了",
        ),
        "sarcastic": ("消费这么多才给{points}，真是太慷慨了",),
        "neutral": (
            "每单能拿多少积分？",
            "请问积分什么时候到账？",
            "会员怎么升级？",
            "{points}能在门店用吗？",
            "积分会过期吗？",
            "怎么加入会员？",
        ),
        "positive": (
            "积分换了优惠券，很划算",
            "双倍积分活动太棒了",
            "会员折扣很实在",
            "用{points}抵了不少钱，开心",
            "生日礼包很惊喜",
            "会员福利越来越好了",
        ),
    },
    "other": {
        "negative": (
            "整体体验很差",
            "这次购物体验不太好",
            "不会再来了",
            "对这个品牌很失望",
            "一般般吧，不推荐",
            "门店太乱了",
        ),
        "sarcastic": ("真是一次难忘的购物体验呢",),
        "neutral": (
            "节假日营业吗？",
            "最近的门店在哪里？",
            "没什么要说的",
            "先看看",
            "还可以吧",
            "门店几点关门？",
        ),
        "positive": (
            "太喜欢了！",
            "店很好逛",
            "每次来都很开心",
            "强烈推荐",
            "新款都好好看",
            "整体体验很棒",
        ),
    },
}

UND_PHRASES = {  # reactions without words: language und, topic other
    "other": {
        "negative": ("👎", "😡😡", "🙄", "😤😤😤", "👎👎"),
        "neutral": ("🤔", "👀", "..."),
        "positive": ("👍", "😍😍", "❤️❤️❤️", "🔥🔥", "👏👏", "😊"),
    }
}


# Openers and closers by language and sentiment (negative, neutral, positive), "/"-
# separated; a channel adds its own greetings and sign-offs. English closers start with a
# space, Chinese ones follow without.
def _lists(*texts: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(t.split("/")) if t else () for t in texts)


OPENERS = {
    EN: _lists(
        "To be honest, /Honestly, /Sorry but /Hmm, ",
        "Hi, /Hello, /Hey, /Hi there, ",
        "Wow, /Honestly, /Just saying, /Hey, ",
    ),
    ZH: _lists(
        "说实话，/吐槽一下，/真的无语，", "你好，/您好，/亲，", "必须夸一下，/说真的，/亲，"
    ),
}
CLOSERS = {
    EN: _lists(
        " Very disappointed./ Not impressed./ Please sort this out./ 😠/ 😞/ Not good enough.",
        " Thanks./ Thank you!/ Cheers/ 🙏",
        " Thank you!/ 😍/ 👍/ Keep it up!/ Will buy again./ ❤️/ Five stars!",
    ),
    ZH: _lists(
        "，差评/，太失望了/😡/😤/，无语/！！",
        "谢谢/谢谢！/🙏/～",
        "👍/😊/，好评！/❤️/，会回购的/，赞",
    ),
}
CHANNEL_OPENERS = {
    "survey": {EN: (), ZH: ()},
    "ticket": {EN: ("Hi, ", "Hello, ", "Hello team, "), ZH: ("你好，", "您好，", "客服你好，")},
    "social": {EN: ("Ok so ", "So "), ZH: ("姐妹们，", "家人们，")},
}
CHANNEL_CLOSERS = {
    "survey": {EN: ((), (), ()), ZH: ((), (), ())},
    "ticket": {
        EN: _lists(" Please get back to me./ Thanks.", " Thanks in advance.", " Thanks."),
        ZH: _lists("，请尽快处理/，麻烦尽快回复", "，麻烦尽快回复", "，谢谢"),
    },
    "social": {
        EN: _lists(" #fail/ #customerservice/ 🙄", " 🤔", " #happy/ #ootd/ 🔥"),
        ZH: _lists("[怒]/[衰]/🙄", "[疑问]", "[赞]/[哈哈]/🔥"),
    },
}
# Per channel: share of texts with an opener, with a closer, and (English) all lower case.
CHANNEL_STYLE = {
    "survey": (0.12, 0.3, 0.0),
    "ticket": (0.55, 0.45, 0.0),
    "social": (0.2, 0.5, 0.15),
}


def _decap(text: str) -> str:
    """The phrase as written after an opener: first letter lower case, unless it is `I`
    or an acronym."""
    if re.match(r"I\b|[A-Z]{2}", text):
        return text
    return text[:1].lower() + text[1:]


class _Bank:
    """Every template as (literal, slot, literal, slot, literal) in flat arrays, grouped
    by (language, topic, tone): group g holds rows start[g] : start[g] + count[g]."""

    def __init__(self) -> None:
        self.slots = ("", *SLOTS)  # slot code 0: none
        rows: list[tuple] = []
        self.start = np.zeros(len(LANGUAGES) * len(TOPICS) * len(TONES), np.int64)
        self.count = np.zeros_like(self.start)
        for lang, phrases in enumerate((EN_PHRASES, ZH_PHRASES, UND_PHRASES)):
            for topic, tones in phrases.items():
                for tone, templates in tones.items():
                    g = group(lang, TOPICS.index(topic), TONES.index(tone))
                    self.start[g], self.count[g] = len(rows), len(templates)
                    rows += [self._parse(t) for t in templates]
        self.first, self.first_lower, self.mid, self.last, slot1, slot2 = zip(*rows, strict=True)
        self.slot1, self.slot2 = np.array(slot1), np.array(slot2)

    def _parse(self, template: str) -> tuple:
        parts = re.split(r"\{(\w+)\}", template)
        names = parts[1::2]
        assert len(names) <= 2 and len(set(names)) == len(names), template
        lits = [*parts[0::2], "", ""][:3]
        codes = [self.slots.index(s) for s in names] + [0, 0]
        return lits[0], _decap(lits[0]), lits[1], lits[2], codes[0], codes[1]


def group(language, topic, tone):
    """Index of a (language, topic, tone) group of templates."""
    return (np.asarray(language) * len(TOPICS) + topic) * len(TONES) + tone


BANK = _Bank()


def _pick_in(groups: list[tuple[str, ...]], g: np.ndarray, u: np.ndarray) -> pa.Array:
    """A string of the non-empty tuple groups[g] per element (uniform draws `u`)."""
    sizes = np.array([len(strings) for strings in groups])
    start = np.cumsum(sizes) - sizes
    values = pa.array([s for strings in groups for s in strings], pa.string())
    return values.take(pa.array(start[g] + (u * sizes[g]).astype(np.int64)))


def compose(
    rng: np.random.Generator,
    language: np.ndarray,
    topic: np.ndarray,
    sentiment: np.ndarray,
    channel: str = "survey",
) -> pa.Array:
    """One text per element of the label codes (indexes into LANGUAGES, TOPICS,
    SENTIMENTS) in the style of `channel` (survey, ticket or social). Language und
    takes topic other only."""
    language, topic, sentiment = (np.asarray(a, np.int64) for a in (language, topic, sentiment))
    n = len(language)
    u = rng.random((7 + len(SLOTS), n))  # one row per decision: draws do not depend on data
    sarcastic = (sentiment == NEGATIVE) & (u[0] < SARCASM_P)
    sarcastic &= BANK.count[group(language, topic, SARCASTIC)] > 0
    g = group(language, topic, np.where(sarcastic, SARCASTIC, sentiment))
    if n and (BANK.count[g] == 0).any():
        raise ValueError("no phrases for some (language, topic, sentiment)")
    row = BANK.start[g] + (u[1] * BANK.count[g]).astype(np.int64)

    p_open, p_close, p_lower = CHANNEL_STYLE[channel]
    words = language != UND
    ls = np.minimum(language, ZH) * 3 + sentiment  # (language, sentiment) of openers
    langs = (EN, ZH)
    openers = [OPENERS[la][s] + CHANNEL_OPENERS[channel][la] for la in langs for s in range(3)]
    closers = [CLOSERS[la][s] + CHANNEL_CLOSERS[channel][la][s] for la in langs for s in range(3)]
    has_opener = words & (u[3] < p_open)
    opener = pc.if_else(pa.array(has_opener), _pick_in(openers, ls, u[2]), "")
    closer = pc.if_else(pa.array(words & (u[5] < p_close)), _pick_in(closers, ls, u[4]), "")
    # after an opener the phrase goes on in lower case
    first = pa.array(BANK.first + BANK.first_lower, pa.string())
    first = first.take(pa.array(row + len(BANK.first) * has_opener))

    fills = [pa.array(np.full(n, ""), pa.string())]
    for k, (en, zh) in enumerate(SLOTS.values()):
        size = np.where(language == ZH, len(zh), len(en))
        i = (u[7 + k] * size).astype(np.int64) + np.where(language == ZH, len(en), 0)
        fills.append(fmt.pick(en + zh, i))
    slot1 = pc.choose(pa.array(BANK.slot1[row]), *fills)
    slot2 = pc.choose(pa.array(BANK.slot2[row]), *fills)
    mid, last = (pa.array(a, pa.string()).take(pa.array(row)) for a in (BANK.mid, BANK.last))
    text = fmt.join(opener, first, slot1, mid, slot2, last, closer)
    for mark in "？！。":  # a closer starting with a comma drops it after these
        text = pc.replace_substring(text, mark + "，", mark)
    lower = (language == EN) & (u[6] < p_lower)
    return pc.if_else(pa.array(lower), pc.utf8_lower(text), text)


def weights(names: tuple[str, ...], **w: float) -> np.ndarray:
    """Probabilities over `names` from weights of some of them (normalised)."""
    p = np.array([w.get(name, 0.0) for name in names])
    assert set(w) <= set(names), set(w) - set(names)
    return p / p.sum()


def draw(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One category index per row of probabilities `p` (n × k)."""
    u = rng.random(len(p))
    return np.minimum((np.cumsum(p, axis=1) <= u[:, None]).sum(axis=1), p.shape[1] - 1)


def labels(names: tuple[str, ...], codes: np.ndarray, missing: np.ndarray) -> pa.Array:
    """Label strings of `codes`, null where `missing` (no text)."""
    return fmt.nulls_where(fmt.pick(names, codes), missing)
